import { setMaxListeners } from 'node:events';
import { RedisPresenceEngine, type PresenceTimings } from '../../src/server/presence';
import {
	commandClient,
	CountingLastSeen,
	CountingLogger,
	fmtInt,
	fmtMs,
	now,
	percentile,
	runPool,
	section,
	sleep,
	waitFor,
	type Report
} from './lib';

/** Two nodes (A holds the connections, B listens), one Redis, one key prefix per scenario. */
async function twoNodes(prefix: string, timings: PresenceTimings) {
	const redisA = await commandClient('bench-node-a');
	const redisB = await commandClient('bench-node-b');
	const logger = new CountingLogger();
	const make = (redis: typeof redisA, nodeId: string) =>
		new RedisPresenceEngine({
			redis,
			keyPrefix: prefix,
			timings,
			lastSeen: new CountingLastSeen(),
			logger,
			nodeId
		});
	const a = make(redisA, 'bench-a');
	const b = make(redisB, 'bench-b');
	await Promise.all([a.start(), b.start()]);
	return { a, b, redisA, redisB, logger };
}

/** A listener on node B that records, per person, each offline event's arrival time. */
function offlineRecorder() {
	const offline = new Map<string, number[]>();
	let total = 0;
	return {
		listener: (change: { workspaceId: string; userId: string; isOnline: boolean }) => {
			if (change.isOnline) return;
			const key = `${change.workspaceId}/${change.userId}`;
			const list = offline.get(key);
			if (list) list.push(now());
			else offline.set(key, [now()]);
			total++;
		},
		offline,
		get total() {
			return total;
		},
		/** People with exactly one offline event, with more than one, and with none. */
		tally(expected: string[]) {
			let once = 0;
			let more = 0;
			let none = 0;
			for (const key of expected) {
				const n = offline.get(key)?.length ?? 0;
				if (n === 1) once++;
				else if (n === 0) none++;
				else more++;
			}
			return { once, more, none };
		}
	};
}

const WAVES = 10;

export interface SweepResult {
	layout: string;
	afterLastDeadline: number;
	lagP50: number;
	lagP99: number;
	exactlyOnce: number;
	total: number;
}

/**
 * 3. Heartbeats stop for `connections` connections; the sweepers of both nodes expire them.
 * Measured from each connection's heartbeat deadline to its offline event on node B.
 */
export async function benchSweep(
	report: Report,
	options: {
		prefix: string;
		connections: number;
		workspaces: number;
		concurrency: number;
		timings: PresenceTimings;
	}
): Promise<SweepResult> {
	const { connections: n, workspaces, timings } = options;
	const layout = `${fmtInt(n)} connections in ${workspaces} workspace${workspaces > 1 ? 's' : ''}`;
	section(
		`3. Sweep: ${layout} (connected in ${WAVES} waves over one sweep period), no heartbeats; heartbeat timeout ${timings.heartbeatTimeoutMs} ms, sweep every ${timings.sweepIntervalMs} ms (both nodes sweep)`
	);
	const S = '3 sweep';
	const { a, b, redisA, redisB, logger } = await twoNodes(options.prefix, timings);
	const wsOf = (i: number) => `bench-s${i % workspaces}`;
	const recorder = offlineRecorder();
	const stop = new AbortController();
	setMaxListeners(0, stop.signal); // one signal for every workspace's listener
	for (let w = 0; w < Math.min(workspaces, n); w++) {
		await b.listen(wsOf(w), recorder.listener, stop.signal);
	}
	const deadlines = new Float64Array(n);
	const expected: string[] = [];
	// Connects in WAVES waves spread over one sweep period, so the deadlines fall at every phase
	// of the sweepers' ticks (a single burst would measure one phase only). Deadline = time the
	// connect was sent + timeout: an upper bound of the real one (the lag is a slight over-estimate).
	const waveSize = Math.ceil(n / WAVES);
	const firstWave = now();
	for (let wave = 0; wave * waveSize < n; wave++) {
		const wait = firstWave + (wave * timings.sweepIntervalMs) / WAVES - now();
		if (wait > 0) await sleep(wait);
		const base = wave * waveSize;
		await runPool(Math.min(waveSize, n - base), options.concurrency, async (j) => {
			const i = base + j;
			deadlines[i] = now() + timings.heartbeatTimeoutMs;
			await a.connect({ workspaceId: wsOf(i), userId: `s${i}` });
		});
	}
	for (let i = 0; i < n; i++) expected.push(`${wsOf(i)}/s${i}`);
	const lastDeadline = Math.max(...deadlines);
	const done = await waitFor(
		() => recorder.total >= n,
		timings.heartbeatTimeoutMs + 30_000 + n * 2,
		2
	);
	// A little longer, to catch a duplicate offline.
	await sleep(Math.max(500, 2 * timings.sweepIntervalMs));
	const lags: number[] = [];
	let lastArrival = 0;
	for (let i = 0; i < n; i++) {
		const arrival = recorder.offline.get(expected[i]!)?.[0];
		if (arrival === undefined) continue;
		lags.push(arrival - deadlines[i]!);
		lastArrival = Math.max(lastArrival, arrival);
	}
	const tally = recorder.tally(expected);
	const afterLastDeadline = lastArrival - lastDeadline;
	report.add(
		S,
		`[${layout}] last offline after last deadline`,
		fmtMs(afterLastDeadline),
		done ? `bound (README): sweep period ${timings.sweepIntervalMs} ms` : 'NOT all offline'
	);
	report.add(
		S,
		`[${layout}] per-person lag p50 / p99`,
		`${fmtMs(percentile(lags, 50))} / ${fmtMs(percentile(lags, 99))}`,
		'deadline -> offline event on node B'
	);
	report.add(
		S,
		`[${layout}] offline events exactly once`,
		`${fmtInt(tally.once)}/${fmtInt(n)}`,
		`duplicates ${tally.more}, missing ${tally.none}; warnings ${logger.warnings}`
	);
	stop.abort();
	await Promise.all([a.stop(), b.stop()]);
	redisA.disconnect();
	redisB.disconnect();
	return {
		layout,
		afterLastDeadline,
		lagP50: percentile(lags, 50),
		lagP99: percentile(lags, 99),
		exactlyOnce: tally.once,
		total: n
	};
}

/** 4. Node A (holding `connections`) halts like a crash; node B reaps it once its lease lapses. */
export async function benchCrash(
	report: Report,
	options: {
		prefix: string;
		connections: number;
		workspaces: number;
		concurrency: number;
		timings: PresenceTimings;
	}
) {
	const { connections: n, workspaces, timings } = options;
	section(
		`4. Node crash: node A with ${fmtInt(n)} connections in ${workspaces} workspaces halts; lease TTL ${timings.leaseTtlMs} ms, sweep every ${timings.sweepIntervalMs} ms`
	);
	const S = '4 crash';
	const { a, b, redisA, redisB, logger } = await twoNodes(options.prefix, timings);
	const wsOf = (i: number) => `bench-c${i % workspaces}`;
	const recorder = offlineRecorder();
	const stop = new AbortController();
	setMaxListeners(0, stop.signal); // one signal for every workspace's listener
	for (let w = 0; w < Math.min(workspaces, n); w++) {
		await b.listen(wsOf(w), recorder.listener, stop.signal);
	}
	await runPool(n, options.concurrency, (i) =>
		a.connect({ workspaceId: wsOf(i), userId: `c${i}` })
	);
	// Let a lease refresh happen so the halt falls at a random point of the refresh cycle.
	await sleep(Math.floor(timings.leaseTtlMs / 3) + 137);

	const halted = now();
	a.haltForTest();
	redisA.disconnect(); // the crashed node's command connection goes too
	const done = await waitFor(() => recorder.total >= n, timings.leaseTtlMs * 3 + 30_000, 2);
	const all = now() - halted;
	let first = Infinity;
	for (const list of recorder.offline.values()) first = Math.min(first, list[0]! - halted);
	await sleep(Math.max(500, 2 * timings.sweepIntervalMs));
	const tally = recorder.tally(Array.from({ length: n }, (_, i) => `${wsOf(i)}/c${i}`));
	const bound = timings.leaseTtlMs + timings.sweepIntervalMs;
	report.add(S, 'halt -> first offline on node B', fmtMs(first));
	report.add(
		S,
		'halt -> all offline on node B',
		fmtMs(all),
		`${done ? '' : 'NOT all offline; '}bound TTL ${timings.leaseTtlMs} + sweep ${timings.sweepIntervalMs} = ${bound} ms`
	);
	report.add(
		S,
		'offline events exactly once',
		`${fmtInt(tally.once)}/${fmtInt(n)}`,
		`duplicates ${tally.more}, missing ${tally.none}; warnings ${logger.warnings}`
	);
	stop.abort();
	await b.stop();
	redisB.disconnect();
	return { first, all, bound, exactlyOnce: tally.once, total: n };
}

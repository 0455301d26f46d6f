import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Command } from 'ioredis';
import { RedisPresenceEngine, type PresenceChange } from '../../src/server/presence';
import {
	APP_TIMINGS,
	commandCalls,
	commandClient,
	CountingLastSeen,
	CountingLogger,
	fmtBytes,
	fmtInt,
	fmtMs,
	memorySample,
	now,
	percentile,
	perSecond,
	runPool,
	section,
	waitFor,
	type Report
} from './lib';

/** 1. The engine alone: connect, heartbeat, focus, page, disconnect at a bounded concurrency. */
export async function benchEngine(
	report: Report,
	options: { prefix: string; connections: number; workspaces: number; concurrency: number }
) {
	const { connections: n, workspaces, concurrency } = options;
	section(
		`1. Engine: ${fmtInt(n)} connections (1 per person) over ${workspaces} workspaces, ${concurrency} in flight`
	);
	const S = '1 eng';
	const wsOf = (i: number) => `bench-w${String(i % workspaces).padStart(5, '0')}`;
	const userOf = (i: number) => `u${i}`;

	const ids: string[] = new Array(n).fill('');
	const redis = await commandClient('bench-engine');
	const logger = new CountingLogger();
	const lastSeen = new CountingLastSeen();
	const before = await memorySample();
	const engine = new RedisPresenceEngine({
		redis,
		keyPrefix: options.prefix,
		timings: APP_TIMINGS,
		lastSeen,
		logger,
		nodeId: 'bench-a'
	});
	await engine.start();

	// Like a node whose streams listen: one listener per workspace, counting what the bus brings.
	const stop = new AbortController();
	setMaxListeners(0, stop.signal); // one signal for every workspace's listener
	let online = 0;
	let other = 0;
	const seenVersion = new Map<string, number>();
	let regressions = 0;
	const listener = (change: PresenceChange) => {
		const key = `${change.workspaceId}/${change.userId}`;
		if ((seenVersion.get(key) ?? 0) >= change.version) regressions++;
		seenVersion.set(key, change.version);
		if (!change.isOnline) return;
		if (change.focusConversationId === null && change.currentPage === null) online++;
		else other++;
	};
	await Promise.all(
		Array.from({ length: Math.min(workspaces, n) }, (_, w) =>
			engine.listen(wsOf(w), listener, stop.signal)
		)
	);

	const connect = await runPool(n, concurrency, async (i) => {
		const { connectionId } = await engine.connect({ workspaceId: wsOf(i), userId: userOf(i) });
		ids[i] = connectionId;
	});
	report.add(
		S,
		'connects/s',
		fmtInt(perSecond(n, connect.elapsedMs)),
		`p50 ${fmtMs(percentile(connect.latencies, 50))}, p99 ${fmtMs(percentile(connect.latencies, 99))} per call`
	);
	const allOnline = await waitFor(() => online >= n, 15_000);
	report.add(
		S,
		'online events received by the listeners',
		`${fmtInt(online)}/${fmtInt(n)}`,
		allOnline ? undefined : 'not all within 15 s'
	);

	const after = await memorySample();
	report.add(
		S,
		'RSS per connection (node)',
		fmtBytes((after.rss - before.rss) / n),
		`RSS ${fmtBytes(before.rss)} -> ${fmtBytes(after.rss)}, incl. ioredis buffers, after GC`
	);
	report.add(
		S,
		'JS heap per connection (node)',
		fmtBytes((after.heapUsed - before.heapUsed) / n),
		'held map + listener state + ~90 B of bench bookkeeping'
	);

	let alive = 0;
	const beat = await runPool(n, concurrency, async (i) => {
		if (await engine.heartbeat(ids[i]!, userOf(i))) alive++;
	});
	report.add(
		S,
		'heartbeats/s',
		fmtInt(perSecond(n, beat.elapsedMs)),
		`p50 ${fmtMs(percentile(beat.latencies, 50))}, p99 ${fmtMs(percentile(beat.latencies, 99))}; ${fmtInt(alive)} answered alive`
	);

	const conversation = randomUUID();
	const focus = await runPool(n, concurrency, (i) => engine.focus(ids[i]!, conversation));
	report.add(
		S,
		'focus reports/s',
		fmtInt(perSecond(n, focus.elapsedMs)),
		`each one a visible change; p99 ${fmtMs(percentile(focus.latencies, 99))}`
	);
	const page = await runPool(n, concurrency, (i) =>
		engine.page(ids[i]!, { url: `https://shop.example/p/${i}`, title: `Product ${i}` })
	);
	report.add(
		S,
		'page reports/s',
		fmtInt(perSecond(n, page.elapsedMs)),
		`each one a visible change; p99 ${fmtMs(percentile(page.latencies, 99))}`
	);
	const changesSettled = await waitFor(() => other >= 2 * n, 15_000);
	if (!changesSettled) report.note(`only ${other} of ${2 * n} focus/page events arrived in 15 s`);

	const disconnect = await runPool(n, concurrency, (i) => engine.disconnect(ids[i]!));
	report.add(
		S,
		'disconnects/s',
		fmtInt(perSecond(n, disconnect.elapsedMs)),
		`grace ${APP_TIMINGS.graceMs} ms (offline comes from the sweep); p99 ${fmtMs(percentile(disconnect.latencies, 99))}`
	);
	report.add(
		S,
		'engine warnings / errors',
		`${logger.warnings} / ${logger.errors}`,
		[(await engine.stats()).errors_total + ' errors_total', ...logger.first].join('; ')
	);
	if (regressions) report.note(`${regressions} events arrived with a non-increasing version`);

	stop.abort();
	await engine.stop();
	redis.disconnect();
	return {
		connectsPerSec: perSecond(n, connect.elapsedMs),
		heartbeatsPerSec: perSecond(n, beat.elapsedMs),
		focusPerSec: perSecond(n, focus.elapsedMs),
		pagePerSec: perSecond(n, page.elapsedMs),
		disconnectsPerSec: perSecond(n, disconnect.elapsedMs),
		rssPerConnection: (after.rss - before.rss) / n,
		heapPerConnection: (after.heapUsed - before.heapUsed) / n
	};
}

/** 2. `read(ws, ids)` of `people` people: latency and Redis commands per read. */
export async function benchRead(
	report: Report,
	options: { prefix: string; people: number; reads: number; concurrency: number }
) {
	const { people, reads } = options;
	section(`2. Batch read: read(ws, ${fmtInt(people)} ids) x ${fmtInt(reads)}, one at a time`);
	const S = '2 read';
	const ws = 'bench-read';
	const redis = await commandClient('bench-read');
	// Long lease and sweep periods: no background command can fall inside a counted read.
	const engine = new RedisPresenceEngine({
		redis,
		keyPrefix: options.prefix,
		timings: { ...APP_TIMINGS, leaseTtlMs: 600_000, sweepIntervalMs: 600_000 },
		lastSeen: new CountingLastSeen(),
		logger: new CountingLogger(),
		nodeId: 'bench-read'
	});
	await engine.start();
	const userIds = Array.from({ length: people }, (_, i) => `r${i}`);
	// Half online (with focus and page), half never seen: both paths of the decoder.
	const ids: string[] = [];
	await runPool(people / 2, options.concurrency, async (i) => {
		const { connectionId } = await engine.connect({ workspaceId: ws, userId: userIds[i]! });
		ids.push(connectionId);
		await engine.page(connectionId, { url: `https://shop.example/${i}`, title: 'Shop' });
	});

	// Count what the read sends: every ioredis command goes through sendCommand.
	const sent: string[] = [];
	const original = redis.sendCommand.bind(redis);
	redis.sendCommand = ((command: Command, stream?: never) => {
		sent.push(command.name);
		return original(command, stream);
	}) as typeof redis.sendCommand;

	const probe = await commandClient('bench-read-probe');
	await engine.read(ws, userIds); // warm-up
	const mgetBefore = await commandCalls(probe, 'mget');
	sent.length = 0;
	const latencies = new Float64Array(reads);
	let onlineSeen = 0;
	const started = now();
	for (let r = 0; r < reads; r++) {
		const t = now();
		const states = await engine.read(ws, userIds);
		latencies[r] = now() - t;
		if (r === 0) for (const s of states.values()) if (s.isOnline) onlineSeen++;
	}
	const elapsed = now() - started;
	const mgetDelta = (await commandCalls(probe, 'mget')) - mgetBefore;
	const perRead = sent.length / reads;
	const names = [...new Set(sent)].join(', ');
	report.add(S, 'read latency p50', fmtMs(percentile(latencies, 50)), `${fmtInt(people)} people`);
	report.add(S, 'read latency p99', fmtMs(percentile(latencies, 99)));
	report.add(S, 'reads/s (sequential)', fmtInt(perSecond(reads, elapsed)));
	report.add(
		S,
		'Redis commands per read (sendCommand spy)',
		String(perRead),
		`${sent.length} commands (${names}) over ${reads} reads`
	);
	report.add(
		S,
		'MGET calls on the server (commandstats)',
		fmtInt(mgetDelta),
		`for ${reads} reads; server-wide counter, other clients could add`
	);
	report.add(S, 'online in the answer', `${onlineSeen}/${people}`, 'expected half');
	redis.sendCommand = original;
	await engine.stop();
	redis.disconnect();
	probe.disconnect();
	return {
		p50: percentile(latencies, 50),
		p99: percentile(latencies, 99),
		commandsPerRead: perRead
	};
}

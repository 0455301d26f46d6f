import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SESSION_COOKIE } from '../../src/lib/contract';
import { hashPassword } from '../../src/server/auth/password';
import { issueToken, SESSION_TTL_SECONDS } from '../../src/server/auth/tokens';
import { startAppNode, type AppNode } from '../../tests/support/app-process';
import {
	cpuMsOfPid,
	fmtInt,
	fmtMs,
	percentile,
	POSTGRES_URL,
	randomTag,
	REDIS_URL,
	rssOfPid,
	section,
	sleep,
	type Report
} from './lib';
import { clockMs, openSse } from './sse';
import type { ClientRequest, CollectResult, OpenResult, StatsResult } from './stream-clients';

/**
 * 6. Streams at the floor (issue 8, acceptance 3). The same client processes open the same
 * number of SSE streams first to a floor (sse-floor.ts: plain node:http, JSON.stringify per
 * stream) and then to one real app node, and read both the same way; every figure is printed
 * beside the floor's and as a ratio, because this machine is shared and absolute numbers move.
 *
 * Per stream count: RSS and heap per stream over the empty server, one event's fan-out (first,
 * median, last arrival, timed from the moment the event's Redis message reached a subscriber of
 * our own, so both servers start the clock at the same point of the same path), server CPU per
 * event per stream over a burst, opens per second and idle CPU. Then online propagation
 * between two nodes with 10,000 background streams, and a delivery check at the top count.
 * Nothing is asserted: the targets of the issue are summarised as met or not.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'bench-secret-bench-secret-bench-secret-00';
const CLIENT_SCRIPT = path.join(import.meta.dirname, 'stream-clients.ts');
const FLOOR_SCRIPT = path.join(import.meta.dirname, 'sse-floor.ts');
const HEAP_PROBE = pathToFileURL(path.join(import.meta.dirname, 'heap-probe.mjs')).href;
/** The app's tRPC ping interval (src/server/trpc.ts), so the floor pings as often. */
const PING_MS = 10_000;
/** Streams opened and closed before the empty server is measured, so lazy loading is not counted. */
const WARMUP = 10;
/** Source addresses the client sockets spread over (a per-address cap must not be what we hit). */
const LOCAL_ADDRESSES = Array.from({ length: 64 }, (_, i) => `127.0.1.${i + 1}`);
const HOST = '127.0.0.1';

export interface StreamsOptions {
	/** Redis prefix of this section (under the run's prefix, dropped by index.ts). */
	prefix: string;
	/** Stream counts on one node, ascending. */
	levels: number[];
	/** Streams per client process (one process holds about 20,000 files here). */
	perClient: number;
	openConcurrency: number;
	idleMs: number;
	/** Visitors that connect one after another for the propagation figure. */
	propagation: number;
	/** The stream count at which propagation is measured. */
	propagationAt: number;
	/** Longest a level's opens may take on the app before it is reported as not reached. */
	appOpenBudgetMs: number;
	/** Longest one event's fan-out is waited for. */
	fanoutTimeoutMs: number;
	/** The whole section: the app gets what the floor leaves, and skips counts it cannot reach. */
	timeBudgetMs: number;
	/** Run after the section's own cleanup when the bench is interrupted (the run's Redis keys). */
	onInterrupt?: () => Promise<unknown>;
}

export interface LevelFigures {
	target: number;
	reached: number;
	complete: boolean;
	openFrom: number;
	openMs: number;
	opensPerSec: number;
	/** The server's CPU over the opens of this count, per stream opened (its own process only). */
	cpuUsPerOpen: number;
	rssKBPerStream: number;
	heapKBPerStream: number | null;
	/** From the app's /metrics `nodejs_heap_size_used_bytes` (no GC first), when it exists. */
	heapMetricKBPerStream: number | null;
	/** The app's event-loop lag p99 over its fan-outs at this count (its own /metrics), ms. */
	loopLagP99Ms: number | null;
	idleCpuPct: number;
	pingsPerStream: number;
	fanFirstMs: number;
	fanMedianMs: number;
	fanLastMs: number;
	fanReached: number;
	fanArmed: number;
	burstEvents: number;
	burstDelivered: number;
	burstExpected: number;
	cpuUsPerEventPerStream: number;
	endedByServer: number;
	/** Streams the server ended while this count was opened and measured. */
	endedDuring: number;
	openedAll: boolean;
	/** Every stream opened and none ended by the server: the figures are of `target` streams. */
	clean: boolean;
	endReasons: [string, number][];
	/** Timeouts the app node logged during this count (its log folds repeats into one line). */
	redisTimeouts: number;
	firstTimeout: string | null;
}

export interface Propagation {
	background: number;
	samples: number[];
	attempted: number;
	p50: number;
	p99: number;
	/** The connecting visitor's own stream: request to its first data event. */
	openP50: number;
	/** Request until the change is on the Redis channel (node A's share), and from there to the agent (node B's). */
	publishedP50: number;
	deliveredP50: number;
}

export interface SubjectResult {
	levels: LevelFigures[];
	propagation: Propagation | null;
	error: string | null;
	notes: string[];
}

export interface StreamsResult {
	floor: SubjectResult;
	app: SubjectResult;
	levels: number[];
}

/** What differs between the floor and the app; the measuring around it is the same. */
interface Subject {
	name: 'floor' | 'app';
	pid: number;
	port: number;
	/** Request path of background stream i. */
	pathOf(i: number): string;
	/** Substring of the fan-out event's data line (and only of that event). */
	marker: string;
	/** Redis channel carrying the fan-out event, and whether a message on it is that event. */
	channel: string;
	/** Where a connecting person's online change is published (the propagation figure's split). */
	propagationChannel: string;
	isMarkerMessage(raw: string): boolean;
	/**
	 * Makes sure the next trigger can work (the app's agent connection may have been expired by
	 * the server); true when that itself sent an event the streams must receive first.
	 */
	prepare(): Promise<boolean>;
	/** Causes the k-th fan-out event. */
	trigger(k: number): Promise<void>;
	/** Heap used after a full GC, from the probe preloaded into the server process. */
	heap(): Promise<{ heapUsed: number } | null>;
	heapMetric(): Promise<number | null>;
	/**
	 * The node's `nodejs_eventloop_lag_p99_seconds` since its previous scrape (prom-client starts
	 * the window anew at each scrape): read once before and once after the fan-outs.
	 */
	loopLag(): Promise<number | null>;
	openBudgetMs: number;
	timeouts(): string[];
	/** Online propagation: connect on this node, time until the agent on the other node sees it. */
	propagate(
		i: number,
		channel: ChannelWatch
	): Promise<{ onlineMs: number; openMs: number; publishedMs: number | null } | null>;
}

// ---------------------------------------------------------------- client processes

class ClientPool {
	#children: { proc: ChildProcess; pending: Map<number, (reply: unknown) => void> }[] = [];
	#next = 0;

	static async start(count: number): Promise<ClientPool> {
		const pool = new ClientPool();
		for (let i = 0; i < count; i++) {
			const proc = fork(CLIENT_SCRIPT, [], {
				cwd: ROOT,
				execArgv: process.execArgv,
				stdio: ['ignore', 'inherit', 'inherit', 'ipc']
			});
			const pending = new Map<number, (reply: unknown) => void>();
			proc.on('message', (message: { id: number; result?: unknown; error?: string }) => {
				const resolve = pending.get(message.id);
				pending.delete(message.id);
				resolve?.(message);
			});
			// A send to a process that just went away reports through its callback as well.
			proc.on('error', () => {});
			proc.on('exit', (code) => {
				for (const resolve of pending.values()) resolve({ error: `client exited (${code})` });
				pending.clear();
			});
			pool.#children.push({ proc, pending });
		}
		// A round trip each: the processes are up and have loaded their code.
		await pool.all({ op: 'stats' });
		return pool;
	}

	get size() {
		return this.#children.length;
	}

	call<T>(index: number, request: ClientRequest, guardMs = 120_000): Promise<T> {
		const child = this.#children[index]!;
		const id = ++this.#next;
		if (!child.proc.connected) return Promise.reject(new Error(`client ${index} is gone`));
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				child.pending.delete(id);
				reject(new Error(`client ${index}: no answer to ${request.op} in ${guardMs} ms`));
			}, guardMs);
			child.pending.set(id, (reply) => {
				clearTimeout(timer);
				const { result, error } = reply as { result?: T; error?: string };
				if (error) reject(new Error(`client ${index}: ${error}`));
				else resolve(result as T);
			});
			child.proc.send({ id, request }, (error) => {
				if (!error) return;
				clearTimeout(timer);
				child.pending.delete(id);
				reject(new Error(`client ${index}: ${error.message}`));
			});
		});
	}

	all<T>(request: ClientRequest | ((i: number) => ClientRequest), guardMs?: number): Promise<T[]> {
		return Promise.all(
			this.#children.map((_, i) =>
				this.call<T>(i, typeof request === 'function' ? request(i) : request, guardMs)
			)
		);
	}

	async stats(): Promise<StatsResult> {
		const all = await this.all<StatsResult>({ op: 'stats' });
		return {
			ready: sum(all.map((s) => s.ready)),
			opening: sum(all.map((s) => s.opening)),
			endedByServer: sum(all.map((s) => s.endedByServer)),
			failed: sum(all.map((s) => s.failed)),
			pings: sum(all.map((s) => s.pings)),
			endReasons: mergeCounts(all.flatMap((s) => s.endReasons))
		};
	}

	stop() {
		for (const { proc } of this.#children) if (proc.exitCode === null) proc.kill('SIGKILL');
	}
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function mergeCounts(pairs: [string, number][]): [string, number][] {
	const merged = new Map<string, number>();
	for (const [key, n] of pairs) merged.set(key, (merged.get(key) ?? 0) + n);
	return [...merged].sort((a, b) => b[1] - a[1]);
}

const describeCounts = (pairs: [string, number][]) =>
	pairs
		.slice(0, 4)
		.map(([reason, n]) => `${fmtInt(n)}x ${reason}`)
		.join('; ');

// ---------------------------------------------------------------- the measuring

interface FanOut {
	armed: number;
	reached: number;
	full: number;
	delivered: number;
	arrivals: number[];
	t0: number;
	cpuMs: number;
	complete: boolean;
}

/** Watches the fan-out channel of the subject under test: when its event left Redis. */
class EventClock {
	#redis: Redis;
	#channel = '';
	#match: (raw: string) => boolean = () => false;
	first = NaN;
	seen = 0;

	constructor() {
		this.#redis = new Redis(REDIS_URL, { lazyConnect: true });
		this.#redis.on('error', () => {});
		this.#redis.on('message', (channel: string, raw: string) => {
			if (channel !== this.#channel || !this.#match(raw)) return;
			if (this.seen++ === 0) this.first = clockMs();
		});
	}

	async watch(channel: string, match: (raw: string) => boolean) {
		if (this.#redis.status === 'wait') await this.#redis.connect();
		if (this.#channel) await this.#redis.unsubscribe(this.#channel);
		this.#channel = channel;
		this.#match = match;
		await this.#redis.subscribe(channel);
	}

	reset() {
		this.first = NaN;
		this.seen = 0;
	}

	close() {
		this.#redis.disconnect();
	}
}

async function fanOut(
	clients: ClientPool,
	clock: EventClock,
	subject: Subject,
	events: number,
	timeoutMs: number
): Promise<FanOut> {
	if (await subject.prepare()) {
		await clients.all({ op: 'arm', marker: subject.marker, expect: 1 });
		await clients.all({ op: 'wait', timeoutMs }, timeoutMs + 30_000);
	}
	const armed = sum(
		(
			await clients.all<{ armed: number }>({ op: 'arm', marker: subject.marker, expect: events })
		).map((a) => a.armed)
	);
	clock.reset();
	const cpu = cpuMsOfPid(subject.pid);
	const sent = clockMs();
	for (let k = 0; k < events; k++) await subject.trigger(k);
	const waited = await clients.all<{ complete: boolean }>(
		{ op: 'wait', timeoutMs },
		timeoutMs + 30_000
	);
	const cpuMs = cpuMsOfPid(subject.pid) - cpu;
	const collected = await clients.all<CollectResult>({ op: 'collect' });
	const arrivals = collected.flatMap((c) => c.arrivals).sort((a, b) => a - b);
	const full = sum(collected.map((c) => c.full));
	return {
		armed,
		reached: arrivals.length,
		full,
		delivered: sum(collected.map((c) => c.delivered)),
		arrivals,
		// Without the Redis message (it should never be missed), the send time is the next best.
		t0: Number.isNaN(clock.first) ? sent : clock.first,
		cpuMs,
		complete: waited.every((w) => w.complete)
	};
}

function spread(paths: string[], parts: number): string[][] {
	const out = Array.from({ length: parts }, () => [] as string[]);
	paths.forEach((p, i) => out[i % parts]!.push(p));
	return out;
}

async function openStreams(
	clients: ClientPool,
	subject: Subject,
	from: number,
	to: number,
	concurrency: number,
	budgetMs: number,
	pathOf: (i: number) => string = subject.pathOf
): Promise<{ results: OpenResult[]; ms: number }> {
	const paths = Array.from({ length: to - from }, (_, i) => pathOf(from + i));
	const parts = spread(paths, clients.size);
	const started = clockMs();
	const results = await clients.all<OpenResult>(
		(i) => ({
			op: 'open',
			host: HOST,
			port: subject.port,
			paths: parts[i]!,
			concurrency: Math.max(1, Math.ceil(concurrency / clients.size)),
			deadlineMs: budgetMs,
			localAddresses: LOCAL_ADDRESSES
		}),
		budgetMs + 60_000
	);
	return { results, ms: clockMs() - started };
}

/** What one count takes after its opens: settling, memory, the idle window, fan-out and burst. */
const levelReserveMs = (options: StreamsOptions) =>
	options.idleMs + options.fanoutTimeoutMs + 15_000;
const PROPAGATION_MS = 45_000;

async function measureSubject(
	result: SubjectResult,
	clients: ClientPool,
	clock: EventClock,
	subject: Subject,
	options: StreamsOptions,
	/** clockMs() by which the subject should be done (the app is given what the floor left). */
	deadline: number,
	log: (line: string) => void
): Promise<void> {
	await clock.watch(subject.channel, subject.isMarkerMessage);

	// Warm the server up (lazy imports, JIT, pools), then measure it empty.
	const warm = await openStreams(clients, subject, 0, WARMUP, WARMUP, 30_000, (i) =>
		subject.pathOf(-1 - i)
	);
	if (sum(warm.results.map((r) => r.opened)) < WARMUP) {
		throw new Error(
			`${subject.name}: warm-up streams did not open: ${warm.results.flatMap((r) => r.errors).join('; ')}`
		);
	}
	await fanOut(clients, clock, subject, 1, 10_000);
	await clients.all({ op: 'close' });
	await sleep(1500);
	const emptyHeap = await subject.heap();
	const emptyRss = rssOfPid(subject.pid);
	const emptyMetric = await subject.heapMetric();
	log(
		`${subject.name}: empty server RSS ${kb(emptyRss)} KB, heap ${kb(emptyHeap?.heapUsed)} KB (after GC)`
	);

	let have = 0;
	let fanEvents = 0;
	let endedBefore = 0;
	for (const target of options.levels) {
		const reserve =
			levelReserveMs(options) +
			(target >= options.propagationAt && !result.propagation ? PROPAGATION_MS : 0);
		const budget = Math.min(subject.openBudgetMs, deadline - clockMs() - reserve);
		if (budget < 5000) {
			result.notes.push(
				`${subject.name}: ${fmtInt(target)} streams not attempted: the section's time budget is spent (--stream-time-budget-ms)`
			);
			log(result.notes.at(-1)!);
			break;
		}
		const timeoutsBefore = subject.timeouts().length;
		const openCpu = cpuMsOfPid(subject.pid);
		const opened = await openStreams(
			clients,
			subject,
			have,
			target,
			options.openConcurrency,
			budget
		);
		let stats = await clients.stats();
		const newlyOpened = sum(opened.results.map((r) => r.opened));
		const abandoned = sum(opened.results.map((r) => r.abandoned));
		const opensPerSec = (newlyOpened * 1000) / opened.ms;
		const cpuUsPerOpen = ((cpuMsOfPid(subject.pid) - openCpu) * 1000) / Math.max(1, newlyOpened);
		const openFrom = have;
		have = target;
		const errors = [...new Set(opened.results.flatMap((r) => r.errors))];
		log(
			`${subject.name} @${fmtInt(target)}: ${fmtInt(stats.ready)} streams ready after ${fmtMs(opened.ms)} ` +
				`(${fmtInt(opensPerSec)}/s from ${fmtInt(openFrom)}, ${fmtInt(cpuUsPerOpen)} µs of server CPU each)` +
				(abandoned ? `; ${fmtInt(abandoned)} still opening at the deadline were closed` : '') +
				(stats.failed ? `; ${fmtInt(stats.failed)} failed (${errors.slice(0, 2).join('; ')})` : '')
		);
		await sleep(1000);

		const heap = await subject.heap();
		const rss = rssOfPid(subject.pid);
		const metric = await subject.heapMetric();
		// Divided by the streams open once the process was measured: a server ending streams
		// meanwhile would otherwise look lighter per stream than it is.
		stats = await clients.stats();
		const reached = stats.ready;
		const perStream = (after: number | undefined, before: number | undefined) =>
			after === undefined || before === undefined || reached === 0
				? null
				: (after - before) / 1024 / reached;
		await sleep(1000);

		const idlePings = (await clients.stats()).pings;
		const idleCpu = cpuMsOfPid(subject.pid);
		const idleStart = clockMs();
		await sleep(options.idleMs);
		const idleMs = clockMs() - idleStart;
		const idleCpuPct = ((cpuMsOfPid(subject.pid) - idleCpu) * 100) / idleMs;
		const pingsPerStream = ((await clients.stats()).pings - idlePings) / Math.max(1, reached);

		// Before the fan-out: a fan-out that stalls a slow node can get it reaped, and its
		// streams ended, which would leave propagation without its background streams.
		if (target === options.propagationAt && options.propagation > 0) {
			const background = (await clients.stats()).ready;
			result.propagation = await propagation(subject, background, options.propagation, log);
		}

		await subject.loopLag();
		let one: FanOut;
		try {
			one = await fanOut(clients, clock, subject, 1, options.fanoutTimeoutMs);
		} catch (error) {
			// A trigger that fails (the app's agent connection gone) loses this count's fan-out only.
			result.notes.push(`${subject.name} @${fmtInt(target)}: fan-out failed: ${String(error)}`);
			log(result.notes.at(-1)!);
			one = {
				armed: 0,
				reached: 0,
				full: 0,
				delivered: 0,
				arrivals: [],
				t0: 0,
				cpuMs: 0,
				complete: false
			};
		}
		fanEvents++;
		const rel = one.arrivals.map((t) => t - one.t0);
		const last = rel.length ? rel[rel.length - 1]! : NaN;
		// A burst long enough for /proc's 10 ms ticks, short enough for the slow app: ~5 s.
		const burstEvents =
			one.complete && one.armed > 0
				? Math.max(2, Math.min(10, Math.round(5000 / Math.max(1, last))))
				: 0;
		let burst: FanOut | null = null;
		if (burstEvents > 0) {
			burst = await fanOut(
				clients,
				clock,
				subject,
				burstEvents,
				Math.max(options.fanoutTimeoutMs, 3 * burstEvents * last)
			).catch((error: unknown) => {
				result.notes.push(`${subject.name} @${fmtInt(target)}: burst failed: ${String(error)}`);
				return null;
			});
			fanEvents += burstEvents;
		}
		const lagSeconds = await subject.loopLag();
		const cpuSource = burst ?? one;
		// CPU per event is only CPU per event when the events reached their streams: a burst
		// during which the server ended its streams (a reaped node) counts the single event instead.
		const wellDelivered = (f: FanOut | null, events: number) =>
			f !== null && f.armed > 0 && f.delivered >= 0.9 * f.armed * events;
		const cpuFrom = wellDelivered(burst, burstEvents) ? burst : wellDelivered(one, 1) ? one : null;
		if (burst && cpuFrom !== burst) {
			result.notes.push(
				`${subject.name} @${fmtInt(target)}: burst delivered ${fmtInt(burst.delivered)} of ${fmtInt(burst.armed * burstEvents)} events; CPU per event ${cpuFrom ? 'from the single event' : 'not measured'}`
			);
		}
		const after = await clients.stats();
		const timeouts = subject.timeouts().slice(timeoutsBefore);
		const figures: LevelFigures = {
			target,
			reached,
			complete: reached >= target,
			openedAll: newlyOpened >= target - openFrom,
			endedDuring: after.endedByServer - endedBefore,
			clean:
				reached >= target &&
				newlyOpened >= target - openFrom &&
				after.endedByServer === endedBefore &&
				one.armed >= target,
			openFrom,
			openMs: opened.ms,
			opensPerSec,
			cpuUsPerOpen,
			rssKBPerStream: perStream(rss, emptyRss) ?? NaN,
			heapKBPerStream: perStream(heap?.heapUsed, emptyHeap?.heapUsed),
			loopLagP99Ms: lagSeconds === null ? null : lagSeconds * 1000,
			heapMetricKBPerStream:
				metric !== null && emptyMetric !== null ? perStream(metric, emptyMetric) : null,
			idleCpuPct,
			pingsPerStream,
			fanFirstMs: rel.length ? rel[0]! : NaN,
			fanMedianMs: rel.length ? percentile(rel, 50) : NaN,
			fanLastMs: one.complete ? last : NaN,
			fanReached: one.reached,
			fanArmed: one.armed,
			burstEvents: burst ? burstEvents : 1,
			burstDelivered: cpuSource.delivered,
			burstExpected: cpuSource.armed * (burst ? burstEvents : 1),
			cpuUsPerEventPerStream: cpuFrom ? (cpuFrom.cpuMs * 1000) / cpuFrom.delivered : NaN,
			endedByServer: after.endedByServer,
			endReasons: after.endReasons,
			redisTimeouts: timeoutCount(timeouts),
			firstTimeout: timeouts[0] ?? null
		};
		result.levels.push(figures);
		log(
			`${subject.name} @${fmtInt(target)}: ${fmtKB(figures.rssKBPerStream)} RSS, ${fmtKB(figures.heapKBPerStream)} heap per stream; ` +
				`idle ${figures.idleCpuPct.toFixed(1)}% of a core (${figures.pingsPerStream.toFixed(1)} pings per stream in it); fan-out first ${fmtMs(figures.fanFirstMs)}, median ${fmtMs(figures.fanMedianMs)}, ` +
				`last ${one.armed === 0 ? 'n/a (no stream left to reach)' : one.complete ? fmtMs(last) : `did not complete (${fmtInt(one.reached)}/${fmtInt(one.armed)} in ${fmtMs(options.fanoutTimeoutMs)})`}; ` +
				`${fmtUs(figures.cpuUsPerEventPerStream)} CPU per event per stream (${figures.burstEvents} events, ` +
				`${fmtInt(figures.burstDelivered)}/${fmtInt(figures.burstExpected)} delivered); ${fmtInt(figures.endedByServer)} ended by the server`
		);
		if (figures.endedByServer) {
			log(`  ${subject.name}: streams ended by the server: ${describeCounts(figures.endReasons)}`);
		}
		if (figures.redisTimeouts)
			log(
				`  ${subject.name}: ${fmtInt(figures.redisTimeouts)} timeouts logged, first: ${figures.firstTimeout}`
			);

		if (after.endedByServer > endedBefore) {
			result.notes.push(
				`${subject.name} @${fmtInt(target)}: ${fmtInt(after.endedByServer - endedBefore)} streams ended by the server (${describeCounts(after.endReasons)}); not reopened`
			);
		}
		endedBefore = after.endedByServer;
		// Streams ended by the server are its own doing; opens that did not finish in time mean
		// larger counts would not either.
		if (newlyOpened < target - openFrom) {
			result.notes.push(
				`${subject.name}: ${fmtInt(target)} streams not reached in ${fmtMs(budget)} of opening (${fmtInt(newlyOpened)} of ${fmtInt(target - openFrom)} new streams opened, ${fmtInt(reached)} ready); larger counts skipped`
			);
			log(`  ${result.notes.at(-1)}`);
			break;
		}
	}
	if (fanEvents === 0) result.notes.push(`${subject.name}: no fan-out measured`);
}

async function propagation(
	subject: Subject,
	background: number,
	count: number,
	log: (line: string) => void
): Promise<Propagation> {
	const samples: number[] = [];
	const opens: number[] = [];
	const published: number[] = [];
	const delivered: number[] = [];
	const deadline = clockMs() + PROPAGATION_MS - 5000;
	let attempted = 0;
	const channel = new ChannelWatch(subject.propagationChannel);
	try {
		await channel.ready;
		for (let i = 0; i < count && clockMs() < deadline; i++) {
			attempted++;
			const sample = await subject.propagate(i, channel);
			if (sample) {
				samples.push(sample.onlineMs);
				opens.push(sample.openMs);
				if (sample.publishedMs !== null) {
					published.push(sample.publishedMs);
					delivered.push(sample.onlineMs - sample.publishedMs);
				}
			}
			await sleep(10);
		}
	} finally {
		channel.close();
	}
	const p: Propagation = {
		background,
		samples,
		attempted,
		p50: percentile(samples, 50),
		p99: percentile(samples, 99),
		openP50: percentile(opens, 50),
		publishedP50: percentile(published, 50),
		deliveredP50: percentile(delivered, 50)
	};
	log(
		`${subject.name}: online propagation with ${fmtInt(background)} background streams: p50 ${fmtMs(p.p50)}, p99 ${fmtMs(p.p99)} ` +
			`(${samples.length}/${count} samples, slowest ${[...samples]
				.sort((a, b) => b - a)
				.slice(0, 3)
				.map(fmtMs)
				.join(
					', '
				)}; on the Redis channel after p50 ${fmtMs(p.publishedP50)}, from there to the agent p50 ${fmtMs(p.deliveredP50)}; the visitor's own stream ready p50 ${fmtMs(p.openP50)})`
	);
	return p;
}

// ---------------------------------------------------------------- the two servers

const kb = (bytes: number | undefined) => (bytes === undefined ? '-' : fmtInt(bytes / 1024));
const fmtUs = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} µs` : 'n/a');
const fmtKB = (value: number | null) =>
	value === null ? 'n/a' : Number.isFinite(value) ? `${value.toFixed(1)} KB` : '-';

/** Asks the heap probe of a process for a line, and reads it from that process's output. */
async function probeHeap(
	proc: ChildProcess,
	output: () => string,
	seq: number
): Promise<{ heapUsed: number } | null> {
	proc.kill('SIGUSR2');
	const needle = `[bench-heap] {"seq":${seq},`;
	// A saturated app node may take a while to run a signal handler.
	const deadline = clockMs() + 20_000;
	while (clockMs() < deadline) {
		const text = output();
		const at = text.lastIndexOf(needle);
		const end = at >= 0 ? text.indexOf('\n', at) : -1;
		if (end > 0) {
			const line = JSON.parse(text.slice(at + '[bench-heap] '.length, end)) as {
				heapUsed: number;
			};
			return { heapUsed: line.heapUsed };
		}
		await sleep(20);
	}
	return null;
}

interface FloorProcess {
	proc: ChildProcess;
	port: number;
	output: string[];
}

async function startFloor(prefix: string, probe: boolean): Promise<FloorProcess> {
	const output: string[] = [];
	const proc = fork(FLOOR_SCRIPT, [], {
		cwd: ROOT,
		execArgv: [...process.execArgv, ...(probe ? ['--import', HEAP_PROBE] : [])],
		env: { ...process.env, REDIS_URL, FLOOR_PREFIX: prefix, FLOOR_PING_MS: String(PING_MS) },
		stdio: ['ignore', 'pipe', 'pipe', 'ipc']
	});
	proc.stdout!.on('data', (chunk) => output.push(String(chunk)));
	proc.stderr!.on('data', (chunk) => output.push(String(chunk)));
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new Error(`floor did not start:\n${output.join('')}`)),
			20_000
		);
		proc.once('message', (message: { port: number }) => {
			clearTimeout(timer);
			resolve(message.port);
		});
		proc.once('exit', (code) => reject(new Error(`floor exited (${code}):\n${output.join('')}`)));
	});
	return { proc, port, output };
}

/** One SSE stream of the bench process itself (the agent on the other node), with waiters. */
class WatchedStream {
	#waiters = new Map<string, (at: number) => void>();
	#close: () => void;
	ready: Promise<string>;
	ended: string | null = null;

	constructor(port: number, pathname: string, headers: Record<string, string> = {}) {
		let resolveReady!: (data: string) => void;
		let rejectReady!: (error: Error) => void;
		this.ready = new Promise((resolve, reject) => {
			resolveReady = resolve;
			rejectReady = reject;
		});
		let first = true;
		const agent = new http.Agent({ keepAlive: false });
		const handle = openSse(
			{ host: HOST, port, path: pathname, headers },
			agent,
			(event, data, at) => {
				if (event !== '') return;
				if (first) {
					first = false;
					resolveReady(data);
					return;
				}
				if (this.#waiters.size === 0) return;
				for (const [needle, resolve] of this.#waiters) {
					if (data.includes(needle) && data.includes('"isOnline":true')) {
						this.#waiters.delete(needle);
						resolve(at);
					}
				}
			},
			(reason) => {
				this.ended = reason ?? 'closed';
				rejectReady(new Error(`stream ended before its first event: ${reason}`));
			}
		);
		this.#close = handle.close;
	}

	/** Resolves with the arrival time of the next event containing `needle`, or null. */
	next(needle: string, timeoutMs: number): Promise<number | null> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.#waiters.delete(needle);
				resolve(null);
			}, timeoutMs);
			this.#waiters.set(needle, (at) => {
				clearTimeout(timer);
				resolve(at);
			});
		});
	}

	close() {
		this.#close();
	}
}

/** Opens one stream from the bench process and resolves at its first data event. */
function openOnce(port: number, pathname: string): { ready: Promise<number>; close(): void } {
	const agent = new http.Agent({ keepAlive: false });
	let resolveReady!: (at: number) => void;
	const ready = new Promise<number>((resolve) => (resolveReady = resolve));
	const timer = setTimeout(() => resolveReady(NaN), 10_000);
	void ready.then(() => clearTimeout(timer));
	const handle = openSse(
		{ host: HOST, port, path: pathname, localAddress: '127.0.2.1' },
		agent,
		(event, _data, at) => {
			if (event === '') resolveReady(at);
		},
		() => resolveReady(NaN)
	);
	return { ready, close: handle.close };
}

/**
 * The bench's own subscriber on the subject's presence channel: when a message naming a person
 * came by. It splits propagation into node A's share (request to PUBLISH) and node B's.
 */
class ChannelWatch {
	#redis = new Redis(REDIS_URL);
	#waiters = new Map<string, (at: number) => void>();
	ready: Promise<unknown>;

	constructor(channel: string) {
		this.#redis.on('message', (_channel: string, raw: string) => {
			const at = clockMs();
			for (const [id, resolve] of this.#waiters) {
				if (raw.includes(id)) {
					this.#waiters.delete(id);
					resolve(at);
				}
			}
		});
		this.ready = this.#redis.subscribe(channel);
	}

	next(id: string, timeoutMs: number): Promise<number | null> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.#waiters.delete(id);
				resolve(null);
			}, timeoutMs);
			this.#waiters.set(id, (at) => {
				clearTimeout(timer);
				resolve(at);
			});
		});
	}

	close() {
		this.#redis.disconnect();
	}
}

async function propagateOnce(
	port: number,
	pathname: string,
	watcher: WatchedStream,
	person: string,
	channel: ChannelWatch
): Promise<{ onlineMs: number; openMs: number; publishedMs: number | null } | null> {
	const seen = watcher.next(`"userId":"${person}"`, 5000);
	const onChannel = channel.next(person, 5000);
	const visitor = openOnce(port, pathname);
	// The clock starts as the client starts connecting: Node issues the connect on the next tick,
	// once the request is built. Building it is the bench's own JS (about 0.3 ms after 10 ms of
	// quiet, for the app and the floor alike), not either server's.
	const sent = clockMs();
	const [online, ready, published] = await Promise.all([seen, visitor.ready, onChannel]);
	visitor.close();
	if (online === null) return null;
	return {
		onlineMs: online - sent,
		openMs: ready - sent,
		publishedMs: published === null ? null : published - sent
	};
}

function floorEvent(userId: string, k: number): string {
	// The shape and size of the app's presence event to a visitor.
	return JSON.stringify({
		type: 'presence',
		userId,
		isOnline: k % 2 === 0,
		status: k % 2 === 0 ? 'active' : 'offline',
		focusConversationId: null,
		lastSeenAt: new Date().toISOString(),
		currentPage: null,
		version: Date.now() * 1000 + k
	});
}

async function runFloor(
	result: SubjectResult,
	clients: ClientPool,
	clock: EventClock,
	options: StreamsOptions,
	cleanups: (() => Promise<void> | void)[],
	log: (line: string) => void
): Promise<void> {
	const prefix = `${options.prefix}floor:`;
	const local: (() => void)[] = [];
	const done = () => {
		for (const cleanup of local.splice(0).reverse()) cleanup();
	};
	cleanups.push(done);
	const a = await startFloor(prefix, true);
	local.push(() => a.proc.kill('SIGKILL'));
	const b = await startFloor(prefix, false);
	local.push(() => b.proc.kill('SIGKILL'));
	const publisher = new Redis(REDIS_URL);
	local.push(() => publisher.disconnect());
	const agentId = randomUUID();
	const agent = new WatchedStream(b.port, '/stream?watch=1');
	local.push(() => agent.close());
	await agent.ready;
	let probes = 0;
	const subject: Subject = {
		name: 'floor',
		pid: a.proc.pid!,
		port: a.port,
		pathOf: (i) => `/stream?i=${i}`,
		marker: `"userId":"${agentId}"`,
		channel: `${prefix}events`,
		propagationChannel: `${prefix}presence`,
		isMarkerMessage: (raw) => raw.includes(agentId),
		prepare: async () => false,
		trigger: async (k) => void (await publisher.publish(`${prefix}events`, floorEvent(agentId, k))),
		heap: () => probeHeap(a.proc, () => a.output.join(''), ++probes),
		heapMetric: async () => null,
		loopLag: async () => null,
		openBudgetMs: 120_000,
		timeouts: () => [],
		propagate: (i, channel) =>
			propagateOnce(a.port, `/stream?announce=p${i}`, agent, `p${i}`, channel)
	};
	try {
		await measureSubject(result, clients, clock, subject, options, Infinity, log);
	} finally {
		await clients.all({ op: 'close' });
		done();
	}
}

// ---------------------------------------------------------------- the app's fixture

interface Fixture {
	workspaceId: string;
	agentId: string;
	agentCookie: string;
	/** Visitor tokens and ids: warm-up, then propagation, then background streams. */
	tokens: string[];
	visitorIds: string[];
	/** A conversation of a warm-up visitor: the agent's focus target (no background viewer's). */
	focusTarget: string;
}

/**
 * Visitors, conversations and participants in bulk, as widget.session would create them (one
 * conversation per visitor, joined by the workspace's agent), without its per-address limit.
 */
async function createFixture(dbUrl: string, visitors: number): Promise<Fixture> {
	const client = new pg.Client({ connectionString: dbUrl });
	await client.connect();
	try {
		const key = `bench-${randomTag()}`;
		const ws = await client.query<{ id: string }>(
			'insert into workspaces (key, name) values ($1, $2) returning id',
			[key, 'Streams bench']
		);
		const workspaceId = ws.rows[0]!.id;
		const agent = await client.query<{ id: string }>(
			`insert into users (workspace_id, kind, display_name, email, password_hash)
			 values ($1, 'agent', 'Ada', $2, $3) returning id`,
			[workspaceId, `ada@${key}.test`, await hashPassword('bench-password')]
		);
		const agentId = agent.rows[0]!.id;
		const visitorIds = Array.from({ length: visitors }, () => randomUUID());
		const conversationIds = Array.from({ length: visitors }, () => randomUUID());
		const names = visitorIds.map((_, i) => `Visitor ${i}`);
		await client.query('begin');
		await client.query(
			`insert into users (id, workspace_id, kind, display_name)
			 select unnest($1::uuid[]), $2::uuid, 'visitor', unnest($3::text[])`,
			[visitorIds, workspaceId, names]
		);
		await client.query(
			`insert into conversations (id, workspace_id, visitor_id)
			 select unnest($1::uuid[]), $2::uuid, unnest($3::uuid[])`,
			[conversationIds, workspaceId, visitorIds]
		);
		await client.query(
			`insert into conversation_participants (conversation_id, user_id)
			 select unnest($1::uuid[]), unnest($2::uuid[])
			 union all select unnest($1::uuid[]), $3::uuid`,
			[conversationIds, visitorIds, agentId]
		);
		await client.query('commit');
		await client.query('analyze');
		const tokens = visitorIds.map((sub) =>
			issueToken({ kind: 'visitor', sub, ws: workspaceId }, SECRET, 6 * 3600)
		);
		// Agent sessions are revocable: the token names a row of `sessions`.
		const sid = await client.query<{ id: string }>(
			`insert into sessions (user_id, expires_at) values ($1, now() + make_interval(secs => $2))
			 returning id`,
			[agentId, SESSION_TTL_SECONDS]
		);
		const session = issueToken(
			{ kind: 'agent', sub: agentId, ws: workspaceId, sid: sid.rows[0]!.id },
			SECRET,
			SESSION_TTL_SECONDS
		);
		return {
			workspaceId,
			agentId,
			agentCookie: `${SESSION_COOKIE}=${session}`,
			tokens,
			visitorIds,
			focusTarget: conversationIds[0]!
		};
	} finally {
		await client.end();
	}
}

const connectPath = (visitorToken: string) =>
	`/api/trpc/presence.connect?connectionParams=${encodeURIComponent(JSON.stringify({ visitorToken }))}`;

async function runApp(
	result: SubjectResult,
	clients: ClientPool,
	clock: EventClock,
	options: StreamsOptions,
	cleanups: (() => Promise<void> | void)[],
	deadline: number,
	log: (line: string) => void
): Promise<void> {
	if (!existsSync(path.join(ROOT, 'build'))) {
		throw new Error('build/ is missing: run `npm run build` first');
	}
	const prefix = `${options.prefix}app:`;
	const local: (() => Promise<void> | void)[] = [];
	const done = async () => {
		for (const cleanup of local.splice(0).reverse()) {
			try {
				await cleanup();
			} catch (error) {
				console.warn('  cleanup failed:', error);
			}
		}
	};
	cleanups.push(done);
	const dbName = `bench_${randomTag()}`;
	const admin = new pg.Client({ connectionString: POSTGRES_URL });
	await admin.connect();
	await admin.query(`create database ${dbName}`);
	await admin.end();
	local.push(async () => {
		const drop = new pg.Client({ connectionString: POSTGRES_URL });
		await drop.connect();
		await drop.query(`drop database if exists ${dbName} with (force)`);
		await drop.end();
	});
	const dbUrl = new URL(POSTGRES_URL);
	dbUrl.pathname = `/${dbName}`;
	const env = {
		DATABASE_URL: dbUrl.toString(),
		REDIS_URL,
		REDIS_KEY_PREFIX: prefix,
		SESSION_SECRET: SECRET,
		// The clients send no heartbeats: a long timeout keeps every stream alive for the run.
		PRESENCE_HEARTBEAT_INTERVAL_MS: '300000',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '600000'
	};
	const nodes: AppNode[] = [];
	local.push(async () => {
		await Promise.all(nodes.map((n) => n.stop()));
	});
	const nodeA = await startAppNode({
		...env,
		NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${HEAP_PROBE}`.trim()
	});
	nodes.push(nodeA);
	const nodeB = await startAppNode(env);
	nodes.push(nodeB);
	const portOf = (node: AppNode) => Number(new URL(node.url).port);

	const top = Math.max(...options.levels);
	const started = clockMs();
	const fixture = await createFixture(dbUrl.toString(), WARMUP + options.propagation + top);
	log(
		`app: ${fmtInt(fixture.tokens.length)} visitors with a conversation each created in SQL in ${fmtMs(clockMs() - started)}`
	);
	const background = WARMUP + options.propagation;

	// The agent's stream lives on node B: it triggers the fan-out (its focus, published through
	// Redis like the floor's events) and sees visitors connect on A, while A holds only visitors.
	const openAgent = async () => {
		const stream = new WatchedStream(portOf(nodeB), '/api/trpc/presence.connect', {
			cookie: fixture.agentCookie
		});
		local.push(() => stream.close());
		const ready = JSON.parse(await stream.ready) as { type: string; connectionId: string };
		if (ready.type !== 'ready') throw new Error(`agent stream: first event ${ready.type}`);
		return { stream, connectionId: ready.connectionId };
	};
	let agent = await openAgent();
	const agentLosses: string[] = [];
	const call = (procedure: string, input: unknown) =>
		fetch(`${nodeB.trpcUrl}/${procedure}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', cookie: fixture.agentCookie },
			body: JSON.stringify(input)
		});

	let probes = 0;
	let focusChanges = 0;
	const subject: Subject = {
		name: 'app',
		pid: nodeA.process.pid!,
		port: portOf(nodeA),
		// Negative indexes are the warm-up streams.
		pathOf: (i) => connectPath(fixture.tokens[i < 0 ? -1 - i : background + i]!),
		marker: `"userId":"${fixture.agentId}"`,
		channel: `${prefix}{${fixture.workspaceId}}:presence`,
		propagationChannel: `${prefix}{${fixture.workspaceId}}:presence`,
		isMarkerMessage: (raw) => {
			if (!raw.includes(fixture.agentId)) return false;
			const message = JSON.parse(raw) as { k?: string; u?: string };
			return message.k === 'c' && message.u === fixture.agentId;
		},
		prepare: async () => {
			// A node that starves misses its lease and is reaped (issue 8): the agent's connection
			// may then be gone. A heartbeat tells; a new stream, announced to every visitor, fixes it.
			const beat = agent.stream.ended
				? null
				: await call('presence.heartbeat', { connectionId: agent.connectionId });
			if (beat?.ok) return false;
			agentLosses.push(agent.stream.ended ?? `heartbeat: HTTP ${beat?.status}`);
			agent.stream.close();
			agent = await openAgent();
			focusChanges = 0;
			return true;
		},
		trigger: async () => {
			// Focus on and off one conversation: every change is a new version every visitor gets.
			const response = await call('presence.focus', {
				connectionId: agent.connectionId,
				conversationId: focusChanges++ % 2 === 0 ? fixture.focusTarget : null
			});
			if (!response.ok)
				throw new Error(`presence.focus: ${response.status} ${await response.text()}`);
		},
		heap: () => probeHeap(nodeA.process, () => nodeA.output.join(''), ++probes),
		heapMetric: () =>
			Promise.race([
				nodeA.metric('nodejs_heap_size_used_bytes').catch(() => null),
				sleep(5000).then(() => null)
			]),
		loopLag: () =>
			Promise.race([
				nodeA.metric('nodejs_eventloop_lag_p99_seconds').catch(() => null),
				sleep(5000).then(() => null)
			]),
		openBudgetMs: options.appOpenBudgetMs,
		timeouts: () =>
			nodeA.output
				.join('')
				.split('\n')
				.filter((line) => /timed? ?out|timeout/i.test(line))
				.map((line) => line.slice(0, 200)),
		propagate: (i, channel) =>
			propagateOnce(
				portOf(nodeA),
				connectPath(fixture.tokens[WARMUP + i]!),
				agent.stream,
				fixture.visitorIds[WARMUP + i]!,
				channel
			)
	};
	try {
		await measureSubject(result, clients, clock, subject, options, deadline, log);
	} finally {
		if (agent.stream.ended) agentLosses.push(agent.stream.ended);
		if (agentLosses.length) {
			result.notes.push(
				`app: the agent's connection on node B was lost ${agentLosses.length} time(s) and reopened (${agentLosses.slice(0, 3).join('; ')})`
			);
		}
		for (const [name, node] of [
			['A', nodeA],
			['B', nodeB]
		] as const) {
			const warnings = node.output
				.join('')
				.split('\n')
				.filter((line) => /warn|error|fail|timed? ?out|reap|lease/i.test(line));
			if (warnings.length) {
				result.notes.push(
					`app node ${name} logged ${warnings.length} warning line(s): ${groupLines(warnings)}`
				);
			}
		}
		await clients.all({ op: 'close' });
		await done();
	}
}

/** Timeouts in log lines, counting the repeats the engine's throttled log folded into each. */
function timeoutCount(lines: string[]): number {
	let n = 0;
	for (const line of lines)
		n += 1 + Number(/\((\d+) similar since last report\)/.exec(line)?.[1] ?? 0);
	return n;
}

/** Log lines grouped by their shape (numbers and ids masked), most frequent first, with counts. */
function groupLines(lines: string[]): string {
	const groups = new Map<string, { n: number; example: string }>();
	for (const line of lines) {
		const shape = line.replace(/[0-9a-f]{8}(\.[0-9a-f]+)?|\d+/g, '#');
		const group = groups.get(shape) ?? { n: 0, example: line.slice(0, 180) };
		group.n++;
		groups.set(shape, group);
	}
	return [...groups.values()]
		.sort((a, b) => b.n - a.n)
		.slice(0, 5)
		.map((g) => `${g.n}x ${g.example}`)
		.join(' | ');
}

// ---------------------------------------------------------------- the section

export async function benchStreams(
	report: Report,
	options: StreamsOptions
): Promise<StreamsResult> {
	const levels = [...new Set(options.levels)].sort((a, b) => a - b);
	// Propagation runs at the requested count, or at the nearest count below it that is run.
	const propagationAt = [...levels].reverse().find((n) => n <= options.propagationAt) ?? levels[0]!;
	options = { ...options, levels, propagationAt };
	section(
		`6. Streams at the floor: ${levels.map(fmtInt).join(' / ')} SSE streams on one node, the app beside a plain node:http SSE server`
	);
	const log = (line: string) => console.log(`  ${line}`);
	const cleanups: (() => Promise<void> | void)[] = [];
	const top = Math.max(...levels);
	const clients = await ClientPool.start(
		Math.max(1, Math.ceil((top + WARMUP) / options.perClient))
	);
	cleanups.push(() => clients.stop());
	const clock = new EventClock();
	cleanups.push(() => clock.close());
	log(`${clients.size} client processes, ${LOCAL_ADDRESSES.length} source addresses`);
	const empty = (): SubjectResult => ({ levels: [], propagation: null, error: null, notes: [] });
	const floor = empty();
	const app = empty();
	const failed = (result: SubjectResult) => (error: unknown) => {
		result.error = error instanceof Error ? error.message : String(error);
		log(`${result === floor ? 'floor' : 'app'} failed: ${result.error}`);
	};
	const deadline = clockMs() + options.timeBudgetMs;
	const cleanUp = async () => {
		for (const cleanup of cleanups.splice(0).reverse()) {
			try {
				await cleanup();
			} catch (error) {
				console.warn('  cleanup failed:', error);
			}
		}
	};
	// Interrupted, the section still stops its processes and drops its database and keys:
	// app nodes are not tied to this process and would outlive it.
	// Ctrl-C reaches this process twice (the terminal, and tsx relaying it): one cleanup only.
	let interrupting = false;
	const interrupted = (signal: NodeJS.Signals) => {
		if (interrupting) return;
		interrupting = true;
		log(`${signal}: cleaning up`);
		void cleanUp()
			.then(() => options.onInterrupt?.())
			.finally(() => process.exit(130));
	};
	process.on('SIGINT', interrupted);
	process.on('SIGTERM', interrupted);
	try {
		await runFloor(floor, clients, clock, options, cleanups, log).catch(failed(floor));
		await sleep(1000);
		await runApp(app, clients, clock, options, cleanups, deadline, log).catch(failed(app));
	} finally {
		await cleanUp();
		process.off('SIGINT', interrupted);
		process.off('SIGTERM', interrupted);
	}
	printComparison(report, { floor, app, levels });
	return { floor, app, levels };
}

// ---------------------------------------------------------------- printing

const ratio = (app: number | null, floor: number | null) =>
	app === null || floor === null || !Number.isFinite(app) || !Number.isFinite(floor) || floor === 0
		? '-'
		: `${(app / floor).toFixed(app / floor >= 10 ? 0 : 1)}x`;

function printComparison(report: Report, result: StreamsResult) {
	const S = '6 streams';
	const { floor, app } = result;
	console.log('\n  app vs floor (same client processes, same Redis PUBLISH path):');
	for (const target of result.levels) {
		const f = floor.levels.find((l) => l.target === target) ?? null;
		const a = app.levels.find((l) => l.target === target) ?? null;
		const at = `@${fmtInt(target)}`;
		const reach = (l: LevelFigures | null) =>
			!l ? ' (not run)' : l.clean ? '' : ` (${disturbance(l)})`;
		// Figures of a fraction of the count say nothing about the count.
		const fanned = (l: LevelFigures) => l.fanArmed >= 0.9 * l.target;
		const held = (l: LevelFigures) => l.reached >= 0.9 * l.target;
		const row = (
			metric: string,
			pick: (l: LevelFigures) => number | null,
			fmt: (v: number) => string,
			missing = 'n/a',
			valid: (l: LevelFigures) => boolean = () => true
		) => {
			const av = a && valid(a) ? pick(a) : null;
			const fv = f && valid(f) ? pick(f) : null;
			const show = (v: number | null) => (v === null || !Number.isFinite(v) ? missing : fmt(v));
			report.add(S, `${at} ${metric}`, `${show(av)} / ${show(fv)}`, `app/floor ${ratio(av, fv)}`);
		};
		console.log(`\n  ${at}: app${reach(a)} / floor${reach(f)}`);
		const fixed = (v: number) => v.toFixed(1);
		row('RSS KB per stream', (l) => l.rssKBPerStream, fixed, 'n/a', held);
		row('heap KB per stream', (l) => l.heapKBPerStream, fixed, 'n/a', held);
		row('fan-out first arrival', (l) => l.fanFirstMs, fmtMs, 'n/a', fanned);
		row('fan-out median arrival', (l) => l.fanMedianMs, fmtMs, 'n/a', fanned);
		row('fan-out last arrival', (l) => l.fanLastMs, fmtMs, 'incomplete', fanned);
		row('CPU µs per event per stream', (l) => l.cpuUsPerEventPerStream, fixed, 'n/a', fanned);
		row('opens/s (from the previous count)', (l) => l.opensPerSec, fmtInt);
		row('server CPU µs per open', (l) => l.cpuUsPerOpen, fmtInt);
		row('idle CPU % of a core', (l) => l.idleCpuPct, fixed, 'n/a', held);
		if (a?.loopLagP99Ms != null) {
			report.add(
				S,
				`${at} app event-loop lag p99 during fan-out`,
				fmtMs(a.loopLagP99Ms),
				'nodejs_eventloop_lag_p99_seconds from its /metrics, over the fan-out and burst'
			);
		}
		if (a?.heapMetricKBPerStream != null) {
			report.add(
				S,
				`${at} heap KB/stream (app /metrics)`,
				a.heapMetricKBPerStream.toFixed(1),
				'nodejs_heap_size_used_bytes, no GC first'
			);
		}
	}
	const ap = app.propagation;
	const fp = floor.propagation;
	if (ap || fp) {
		const bg = ap?.background ?? fp?.background ?? 0;
		report.add(
			S,
			`online propagation p50 (${fmtInt(bg)} background)`,
			`${fmtMs(ap?.p50 ?? NaN)} / ${fmtMs(fp?.p50 ?? NaN)}`,
			`app/floor ${ratio(ap?.p50 ?? null, fp?.p50 ?? null)}`
		);
		report.add(
			S,
			'online propagation p99',
			`${fmtMs(ap?.p99 ?? NaN)} / ${fmtMs(fp?.p99 ?? NaN)}`,
			`app/floor ${ratio(ap?.p99 ?? null, fp?.p99 ?? null)}; ${ap?.samples.length ?? 0}/${ap?.attempted ?? 0} app samples`
		);
	}
	for (const text of [...floor.notes, ...app.notes]) report.note(text);
	if (floor.error) report.note(`floor failed: ${floor.error}`);
	if (app.error) report.note(`app failed: ${app.error}`);
	printTargets(report, result);
}

/** Why a count's figures are not those of `target` streams held, or '' when they are. */
function disturbance(l: LevelFigures): string {
	const why: string[] = [];
	if (!l.openedAll) why.push('its opens did not finish in time');
	if (l.endedDuring) {
		why.push(`${fmtInt(l.endedDuring)} streams ended by the server by the end of this count`);
	}
	if (l.fanArmed < l.target) why.push(`${fmtInt(l.fanArmed)} open at the fan-out`);
	return why.length
		? `did not hold ${fmtInt(l.target)}: ${fmtInt(l.reached)} open when measured, ${why.join(', ')}`
		: '';
}

/** The targets of issue 8 at 10,000 streams (and the 19,500 check): met or not, never a failure. */
function printTargets(report: Report, result: StreamsResult) {
	const S = '6 target';
	const { floor, app } = result;
	const at = (r: SubjectResult, n: number) => r.levels.find((l) => l.target === n) ?? null;
	const a = at(app, 10_000);
	const f = at(floor, 10_000);
	const verdict = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'met' : 'not met');
	const check = (name: string, ok: boolean | null, note: string) =>
		report.add(S, name, verdict(ok), note);
	console.log('\n  targets of issue 8 (at 10,000 streams on one node):');
	if (!a) {
		report.add(S, 'targets at 10,000 streams', 'n/a', 'the app was not measured at 10,000 streams');
	} else {
		// Figures of a node that did not hold its streams are not figures of 10,000 streams.
		const partial = a.clean ? '' : ` (${disturbance(a)})`;
		check(
			'heap <= 8 KB per stream',
			a.heapKBPerStream === null ? null : a.clean && a.heapKBPerStream <= 8,
			`app ${fmtKB(a.heapKBPerStream)}, floor ${fmtKB(f?.heapKBPerStream ?? null)}${partial}`
		);
		check(
			'RSS <= 14 KB per stream',
			a.clean && a.rssKBPerStream <= 14,
			`app ${fmtKB(a.rssKBPerStream)}, floor ${fmtKB(f?.rssKBPerStream ?? null)}${partial}`
		);
		check(
			'fan-out last arrival <= floor',
			f && Number.isFinite(f.fanLastMs) ? a.clean && a.fanLastMs <= f.fanLastMs : null,
			`app ${Number.isFinite(a.fanLastMs) ? fmtMs(a.fanLastMs) : 'incomplete'}, floor ${fmtMs(f?.fanLastMs ?? NaN)}${partial}`
		);
		check(
			'CPU per event per stream <= floor',
			f ? a.clean && a.cpuUsPerEventPerStream <= f.cpuUsPerEventPerStream : null,
			`app ${fmtUs(a.cpuUsPerEventPerStream)}, floor ${fmtUs(f?.cpuUsPerEventPerStream ?? NaN)}${partial}`
		);
		check(
			'opens >= 1,200/s (real open work)',
			a.clean && a.opensPerSec >= 1200,
			`app ${fmtInt(a.opensPerSec)}/s from ${fmtInt(a.openFrom)}, floor ${fmtInt(f?.opensPerSec ?? NaN)}/s${partial}`
		);
		check(
			'idle CPU <= 5 % of a core',
			a.clean && a.idleCpuPct <= 5,
			`app ${a.idleCpuPct.toFixed(1)}%, floor ${f?.idleCpuPct.toFixed(1) ?? '-'}%${partial}`
		);
	}
	const p = app.propagation;
	const fp = floor.propagation;
	// The target is absolute, and on a loaded machine a bare server misses it too: say so.
	const floorOver = !!fp?.samples.length && (fp.p50 > 2 || fp.p99 > 6);
	check(
		'propagation p50 <= 2 ms, p99 <= 6 ms',
		p && p.samples.length ? p.background >= 10_000 && p.p50 <= 2 && p.p99 <= 6 : null,
		p
			? `app p50 ${fmtMs(p.p50)}, p99 ${fmtMs(p.p99)} at ${fmtInt(p.background)} background streams` +
					(fp ? `; floor p50 ${fmtMs(fp.p50)}, p99 ${fmtMs(fp.p99)}` : '') +
					(floorOver ? ', over the target itself in this run' : '')
			: 'not measured'
	);
	const topTarget = Math.max(...result.levels);
	const t = at(app, topTarget);
	if (!t) {
		check(
			`${fmtInt(topTarget)} streams on one node`,
			null,
			'the app was not measured at this count'
		);
	} else {
		const delivered = t.burstDelivered === t.burstExpected && t.fanReached === t.fanArmed;
		const ok = t.clean && delivered && t.redisTimeouts === 0 && t.endedByServer === 0;
		check(
			`${fmtInt(topTarget)} streams: all delivered, no timeout, none ended`,
			ok,
			`${t.clean ? '' : `${disturbance(t)}; `}` +
				`${fmtInt(t.burstDelivered)}/${fmtInt(t.burstExpected)} events delivered, ` +
				`${fmtInt(t.redisTimeouts)} timeouts logged, ${fmtInt(t.endedByServer)} streams ended by the server` +
				(t.endReasons.length ? ` (${describeCounts(t.endReasons)})` : '')
		);
	}
}

/** Markdown lines for the README's Benchmarks section: each app figure beside the floor's. */
export function streamsSummary(result: StreamsResult): string[] {
	const lines: string[] = [];
	const pair = (
		a: number | null | undefined,
		f: number | null | undefined,
		fmt: (v: number) => string
	) =>
		`${a === null || a === undefined || !Number.isFinite(a) ? 'n/a' : fmt(a)} (floor ${f === null || f === undefined || !Number.isFinite(f) ? 'n/a' : fmt(f)})`;
	const kbs = (v: number) => `${v.toFixed(1)} KB`;
	for (const target of result.levels) {
		const a = result.app.levels.find((l) => l.target === target);
		const f = result.floor.levels.find((l) => l.target === target);
		if (!a && !f) continue;
		const reached = a && !a.clean ? ` (the app ${disturbance(a)})` : '';
		lines.push(
			`- **Streams** at ${fmtInt(target)} on one node${reached}, app vs a plain node:http SSE floor: ` +
				`${pair(a?.rssKBPerStream, f?.rssKBPerStream, kbs)} RSS and ${pair(a?.heapKBPerStream, f?.heapKBPerStream, kbs)} heap per stream; ` +
				`one event to all: first ${pair(a?.fanFirstMs, f?.fanFirstMs, fmtMs)}, median ${pair(a?.fanMedianMs, f?.fanMedianMs, fmtMs)}, last ${pair(a?.fanLastMs, f?.fanLastMs, fmtMs)}; ` +
				`${pair(a?.cpuUsPerEventPerStream, f?.cpuUsPerEventPerStream, (v) => `${v.toFixed(1)} µs`)} CPU per event per stream; ` +
				`${pair(a?.opensPerSec, f?.opensPerSec, (v) => `${fmtInt(v)}/s`)} opens; idle ${pair(a?.idleCpuPct, f?.idleCpuPct, (v) => `${v.toFixed(1)} %`)} of a core.`
		);
	}
	const ap = result.app.propagation;
	const fp = result.floor.propagation;
	if (ap || fp) {
		lines.push(
			`- **Online propagation** (connect on node A, agent's stream on node B, ${fmtInt(ap?.background ?? fp?.background ?? 0)} background streams on A): ` +
				`p50 ${pair(ap?.p50, fp?.p50, fmtMs)}, p99 ${pair(ap?.p99, fp?.p99, fmtMs)}.`
		);
	}
	return lines;
}

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import type { LastSeenStore, PresenceTimings } from '../../src/server/presence';
import { createRedisClient } from '../../src/server/redis/clients';

/** Shared helpers of the benchmarks: they print figures, they never assert on timing. */

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The app's defaults (README, Configuration), used wherever a section does not need others. */
export const APP_TIMINGS: PresenceTimings = {
	graceMs: 3000,
	heartbeatTimeoutMs: 60_000,
	leaseTtlMs: 5000,
	sweepIntervalMs: 1000
};

export const now = (): number => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function randomTag(): string {
	return randomBytes(4).toString('hex');
}

/** A command client configured as the app configures its own (1 s command timeout). */
export async function commandClient(name: string): Promise<Redis> {
	const redis = createRedisClient(REDIS_URL, { commandTimeoutMs: 1000, name });
	await redis.connect();
	return redis;
}

/** A LastSeenStore that only counts what it is asked to write. */
export class CountingLastSeen implements LastSeenStore {
	writes = 0;
	entries = 0;
	async write(entries: { workspaceId: string; userId: string; at: Date }[]): Promise<void> {
		this.writes++;
		this.entries += entries.length;
	}
}

/** A logger that keeps quiet but counts (and keeps the first few) warnings and errors. */
export class CountingLogger {
	warnings = 0;
	errors = 0;
	first: string[] = [];
	info = (): void => {};
	warn = (...args: unknown[]): void => {
		this.warnings++;
		this.#keep(args);
	};
	error = (...args: unknown[]): void => {
		this.errors++;
		this.#keep(args);
	};
	#keep(args: unknown[]) {
		if (this.first.length < 3) this.first.push(args.map(String).join(' ').slice(0, 200));
	}
}

/**
 * Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. Returns the elapsed
 * time (ms) and each call's latency (ms).
 */
export async function runPool(
	count: number,
	concurrency: number,
	task: (i: number) => Promise<unknown>
): Promise<{ elapsedMs: number; latencies: Float64Array }> {
	const latencies = new Float64Array(count);
	let next = 0;
	const started = now();
	const worker = async () => {
		for (;;) {
			const i = next++;
			if (i >= count) return;
			const t = now();
			await task(i);
			latencies[i] = now() - t;
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
	return { elapsedMs: now() - started, latencies };
}

export function percentile(values: ArrayLike<number>, p: number): number {
	if (values.length === 0) return NaN;
	const sorted = Float64Array.from(values).sort();
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank]!;
}

export function perSecond(count: number, elapsedMs: number): number {
	return elapsedMs > 0 ? (count * 1000) / elapsedMs : NaN;
}

export function fmtInt(n: number): string {
	if (!Number.isFinite(n)) return '-';
	return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms: number): string {
	if (!Number.isFinite(ms)) return '-';
	if (ms < 10) return `${ms.toFixed(2)} ms`;
	if (ms < 1000) return `${ms.toFixed(1)} ms`;
	return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtBytes(bytes: number): string {
	if (!Number.isFinite(bytes)) return '-';
	const abs = Math.abs(bytes);
	if (abs < 10_000) return `${Math.round(bytes)} B`;
	if (abs < 10_000_000) return `${(bytes / 1024).toFixed(1)} KiB`;
	return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

let gcFn: (() => void) | null | undefined;
/** A full GC when the runtime lets us have one (flag set at run time, no CLI flag needed). */
export function collectGarbage(): boolean {
	if (gcFn === undefined) {
		try {
			setFlagsFromString('--expose-gc');
			gcFn = runInNewContext('gc') as () => void;
		} catch {
			gcFn = null;
		}
	}
	if (!gcFn) return false;
	gcFn();
	gcFn();
	return true;
}

export interface MemorySample {
	rss: number;
	heapUsed: number;
	external: number;
}

export async function memorySample(): Promise<MemorySample> {
	collectGarbage();
	await sleep(50);
	collectGarbage();
	const m = process.memoryUsage();
	return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

/** VmRSS of another process, in bytes (Linux /proc). */
export function rssOfPid(pid: number): number {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
	return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU time (user + system) of another process so far, in ms (Linux /proc, clock ticks of 10 ms). */
export function cpuMsOfPid(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time (user + system) of this process so far, in ms. */
export function ownCpuMs(): number {
	const usage = process.cpuUsage();
	return (usage.user + usage.system) / 1000;
}

/** Resolves when `check()` is true (polled), or after `timeoutMs`; returns whether it became true. */
export async function waitFor(
	check: () => boolean,
	timeoutMs: number,
	pollMs = 5
): Promise<boolean> {
	const deadline = now() + timeoutMs;
	while (!check()) {
		if (now() > deadline) return false;
		await sleep(pollMs);
	}
	return true;
}

/** Deletes every key under `prefix` (SCAN + UNLINK; never KEYS, never FLUSHALL). */
export async function dropPrefix(prefix: string): Promise<number> {
	if (!/^bench:[0-9a-f]+:$/.test(prefix)) throw new Error(`Refusing to drop prefix ${prefix}`);
	const redis = new Redis(REDIS_URL, { lazyConnect: true });
	redis.on('error', () => {});
	await redis.connect();
	let deleted = 0;
	try {
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			if (keys.length) deleted += await redis.unlink(...keys);
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
	return deleted;
}

/** `cmdstat_<name>` calls from INFO commandstats (server-wide: other clients count too). */
export async function commandCalls(redis: Redis, name: string): Promise<number> {
	const info = await redis.info('commandstats');
	const match = new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info);
	return match ? Number(match[1]) : 0;
}

/** One row of the printed table. */
export interface Row {
	section: string;
	metric: string;
	value: string;
	note?: string;
}

export class Report {
	rows: Row[] = [];
	notes: string[] = [];
	summary: string[] = [];

	add(section: string, metric: string, value: string, note?: string) {
		this.rows.push({ section, metric, value, note });
		const tail = note ? `  (${note})` : '';
		console.log(`  ${metric.padEnd(44)} ${value.padStart(16)}${tail}`);
	}

	note(text: string) {
		this.notes.push(text);
		console.log(`  note: ${text}`);
	}

	table(): string {
		const widths = [7, 44, 16];
		const lines = [
			`${'section'.padEnd(widths[0]!)}  ${'metric'.padEnd(widths[1]!)}  ${'value'.padStart(widths[2]!)}  note`,
			`${'-'.repeat(widths[0]!)}  ${'-'.repeat(widths[1]!)}  ${'-'.repeat(widths[2]!)}  ----`
		];
		for (const row of this.rows) {
			lines.push(
				`${row.section.padEnd(widths[0]!)}  ${row.metric.padEnd(widths[1]!)}  ${row.value.padStart(widths[2]!)}  ${row.note ?? ''}`.trimEnd()
			);
		}
		return lines.join('\n');
	}
}

export function section(title: string) {
	console.log(`\n== ${title}`);
}

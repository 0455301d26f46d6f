import { createHash, timingSafeEqual } from 'node:crypto';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StreamEvent } from '../lib/contract';
import type { PresenceEngine, PresenceStats } from './presence/types';

/** Why a presence stream ended: `client` went away, or the server ended it. */
export type StreamCloseReason = 'client' | 'overflow' | 'expired' | 'shutdown' | 'cap' | 'error';
export type StreamRefuseReason = 'cap' | 'unauthorized' | 'bad_request';

const CLOSE_REASONS: readonly StreamCloseReason[] = [
	'client',
	'overflow',
	'expired',
	'shutdown',
	'cap',
	'error'
];
const REFUSE_REASONS: readonly StreamRefuseReason[] = ['cap', 'unauthorized', 'bad_request'];
const EVENT_TYPES: readonly StreamEvent['type'][] = [
	'ready',
	'presence',
	'message',
	'read',
	'conversation',
	'preview'
];

type NumericStat = {
	[K in keyof PresenceStats]: PresenceStats[K] extends number ? K : never;
}[keyof PresenceStats];

/** The engine's series: metric name → kind, the `PresenceStats` field it shows, help. */
// prettier-ignore
const ENGINE_SERIES: Record<string, ['gauge' | 'counter', NumericStat, string]> = {
	presence_engine_local_connections: ['gauge', 'local_connections', 'Presence connections held by this node'],
	presence_engine_local_people: ['gauge', 'local_people', 'Distinct people behind the connections this node holds'],
	presence_engine_sweep_lag_seconds: ['gauge', 'sweep_lag_ms', 'How overdue the oldest presence deadline is (about 0 while sweeps keep up)'],
	presence_lease_refresh_age_seconds: ['gauge', 'lease_refresh_age_ms', 'Since this node last renewed its lease; past the lease TTL other nodes reap it'],
	presence_lease_reincarnations_total: ['counter', 'reincarnations_total', 'Times this node found its lease gone (stalled past the TTL, or Redis lost data) and re-registered'],
	presence_changes_published_total: ['counter', 'changes_published_total', 'Presence changes published by this node (online, offline, focus, page)'],
	presence_changes_received_total: ['counter', 'changes_received_total', 'Presence changes received by this node for its local streams'],
	presence_engine_errors_total: ['counter', 'errors_total', 'Failed backend calls of the presence engine (Redis, and last_seen_at writes)']
};

/**
 * The node's figures for /metrics (Prometheus text through prom-client, docs/design.md §7).
 * Callers report what happened through these methods; how it is counted stays in this file.
 *
 * The hot path only bumps a plain number: a fan-out to thousands of streams must not pay a label
 * hash per stream. prom-client reads the numbers when it is scraped (each metric's `collect`).
 * Histograms are observed directly: once per fan-out or per closed stream, never per event.
 * Each instance has its own Registry, so tests that build several services in one process do
 * not collide on metric names.
 */
export class Metrics {
	readonly registry = new Registry();

	/** Open presence streams on this node (one per live client tab). */
	streamsOpen = 0;
	/** Events written to this node's streams (one per stream an event reached). */
	eventsDelivered = 0;
	/** Workspace events (messages, reads, …) this node published. */
	eventsPublished = 0;

	#opened = 0;
	#closed = countsOf(CLOSE_REASONS);
	#refused = countsOf(REFUSE_REASONS);
	#written = countsOf(EVENT_TYPES);
	#redisErrors = new Map<string, number>();
	#postgresErrors = new Map<string, number>();
	#rateLimited = new Map<string, number>();
	#engine: PresenceEngine | null = null;
	#engineStats: PresenceStats | null = null;
	#elu: EventLoopUtilization = performance.eventLoopUtilization();

	#fanoutSeconds: Histogram;
	#fanoutStreams: Histogram;
	#streamSeconds: Histogram;

	constructor(options: { rateLimits?: readonly string[] } = {}) {
		// Zero series from the start: `rate()` and absent-series alerts need a first sample.
		for (const limit of options.rateLimits ?? []) this.#rateLimited.set(limit, 0);
		const registers = [this.registry];
		collectDefaultMetrics({ register: this.registry });

		this.#fanoutSeconds = new Histogram({
			name: 'presence_fanout_duration_seconds',
			help: 'One event fanned out on this node: from its arrival to the last stream written',
			buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
			registers
		});
		this.#fanoutStreams = new Histogram({
			name: 'presence_fanout_streams',
			help: 'Streams one fanned-out event was written to',
			buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000],
			registers
		});
		this.#streamSeconds = new Histogram({
			name: 'presence_stream_open_duration_seconds',
			help: 'How long a presence stream stayed open, observed when it closes',
			buckets: [1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
			registers
		});

		gauge(
			registers,
			'presence_streams_open',
			'Presence streams open on this node (one per live client tab)',
			() => this.streamsOpen
		);
		counter(
			registers,
			'presence_streams_opened_total',
			'Presence streams opened',
			() => this.#opened
		);
		labelled(registers, 'presence_streams_closed_total', 'Presence streams closed', 'reason', () =>
			Object.entries(this.#closed)
		);
		labelled(
			registers,
			'presence_streams_refused_total',
			'Presence stream opens refused before they became a stream',
			'reason',
			() => Object.entries(this.#refused)
		);
		labelled(
			registers,
			'presence_stream_events_written_total',
			'Events written to presence streams (one per stream an event reached)',
			'type',
			() => Object.entries(this.#written)
		);
		counter(
			registers,
			'presence_events_published_total',
			'Workspace events (messages, reads, conversations, previews) published by this node',
			() => this.eventsPublished
		);
		labelled(
			registers,
			'presence_redis_errors_total',
			'Failed Redis calls, by operation (engine operations, publishes, rate limits)',
			'operation',
			() => {
				const all = new Map(this.#redisErrors);
				for (const [op, n] of Object.entries(this.#engineStats?.redis_errors ?? {})) {
					all.set(op, (all.get(op) ?? 0) + n);
				}
				return all;
			}
		);
		labelled(
			registers,
			'presence_postgres_errors_total',
			'Failed Postgres queries, by operation (statement and table)',
			'operation',
			() => this.#postgresErrors
		);
		labelled(
			registers,
			'presence_rate_limit_refusals_total',
			'Calls refused with TOO_MANY_REQUESTS, by limit',
			'limit',
			() => this.#rateLimited
		);

		// The engine's side, read once per scrape by render(); `_ms` figures are shown in seconds.
		for (const [name, [kind, field, help]] of Object.entries(ENGINE_SERIES)) {
			const scale = field.endsWith('_ms') ? 1 / 1000 : 1;
			(kind === 'gauge' ? gauge : counter)(registers, name, help, () =>
				this.#engineStats ? this.#engineStats[field] * scale : 0
			);
		}
		gauge(
			registers,
			'presence_event_loop_utilization_ratio',
			'Share of time the event loop was busy since the previous scrape',
			() => {
				const now = performance.eventLoopUtilization();
				const busy = performance.eventLoopUtilization(now, this.#elu).utilization;
				this.#elu = now;
				return busy;
			}
		);
	}

	/** The engine whose stats() /metrics shows; set once it is built (it is built after this). */
	observeEngine(engine: PresenceEngine): void {
		this.#engine = engine;
	}

	/**
	 * Streams from the legacy stream code bump `streamsOpen` and this field directly; the hub
	 * calls streamClosed('overflow'). Both land in `presence_streams_closed_total{reason="overflow"}`.
	 */
	get streamsOverflowed(): number {
		return this.#closed.overflow;
	}
	set streamsOverflowed(value: number) {
		this.#closed.overflow = value;
	}

	/** Returns when it opened (ms, monotonic): pass it to streamClosed for the open-duration histogram. */
	streamOpened(): number {
		this.streamsOpen++;
		this.#opened++;
		return performance.now();
	}

	streamClosed(reason: StreamCloseReason, openedAt?: number): void {
		this.streamsOpen--;
		this.#closed[reason]++;
		if (openedAt !== undefined) this.#streamSeconds.observe((performance.now() - openedAt) / 1000);
	}

	/** An open refused before it became a stream (a cap, bad auth): it never counted as open. */
	streamRefused(reason: StreamRefuseReason): void {
		this.#refused[reason]++;
	}

	/** One event of `type` written to `streams` streams. */
	eventWritten(type: string, streams: number): void {
		this.eventsDelivered += streams;
		this.#written[type] = (this.#written[type] ?? 0) + streams;
	}

	/** One fan-out: how long it took from arrival to the last socket written, and how many streams. */
	fanout(seconds: number, streams: number): void {
		this.#fanoutSeconds.observe(seconds);
		this.#fanoutStreams.observe(streams);
	}

	eventPublished(): void {
		this.eventsPublished++;
	}

	/** `operation` is a fixed name from the code (never a key or an id): it is a label. */
	redisError(operation: string): void {
		this.#redisErrors.set(operation, (this.#redisErrors.get(operation) ?? 0) + 1);
	}

	/** `operation` as `sqlOperation()` names it: statement and table, a bounded set. */
	postgresError(operation: string): void {
		this.#postgresErrors.set(operation, (this.#postgresErrors.get(operation) ?? 0) + 1);
	}

	/** A call refused by the rate limit named `limit` (heartbeat, focus, page, preview, …). */
	rateLimitRefused(limit: string): void {
		this.#rateLimited.set(limit, (this.#rateLimited.get(limit) ?? 0) + 1);
	}

	/** Prometheus text of everything above plus the process metrics; one engine stats() call. */
	async render(): Promise<{ text: string; contentType: string }> {
		if (this.#engine) this.#engineStats = await this.#engine.stats();
		return { text: await this.registry.metrics(), contentType: this.registry.contentType };
	}
}

function countsOf<K extends string>(
	keys: readonly K[]
): Record<K, number> & Record<string, number> {
	return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

// prom-client counters only go up by inc(); reset then inc re-states a total counted elsewhere.
// Both happen inside one synchronous collect(), so a scrape never sees the intermediate zero.
function counter(registers: Registry[], name: string, help: string, read: () => number) {
	new Counter({
		name,
		help,
		registers,
		collect() {
			this.reset();
			this.inc(read());
		}
	});
}

function labelled(
	registers: Registry[],
	name: string,
	help: string,
	label: string,
	read: () => Iterable<readonly [string, number]>
) {
	new Counter({
		name,
		help,
		labelNames: [label],
		registers,
		collect() {
			this.reset();
			for (const [value, n] of read()) this.inc({ [label]: value }, n);
		}
	});
}

function gauge(registers: Registry[], name: string, help: string, read: () => number) {
	new Gauge({
		name,
		help,
		registers,
		collect() {
			this.set(read());
		}
	});
}

/**
 * A label for a failed query: its statement and main table (`select users`, `update users`), so
 * the label set stays as small as the schema whatever the values in the query.
 */
export function sqlOperation(sql: string): string {
	const statement = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'unknown';
	const table = /\b(?:from|into|update|table)\s+"?([A-Za-z_][\w]*)"?/i.exec(sql)?.[1];
	return table ? `${statement} ${table.toLowerCase()}` : statement;
}

/**
 * /metrics access: open when no token is configured (the demo), else only
 * `Authorization: Bearer <token>`. Compared as digests in constant time, so neither the length
 * nor a prefix of the token leaks through timing.
 */
export function metricsAuthorized(header: string | null, token: string | undefined): boolean {
	if (!token) return true;
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
	if (!match) return false;
	const digest = (value: string) => createHash('sha256').update(value).digest();
	return timingSafeEqual(digest(match[1]!), digest(token));
}

import { randomBytes } from 'node:crypto';
import { LastSeenWriter } from '../shared/last-seen-writer';
import { ThrottledLog, type PresenceLogger } from '../shared/logger';
import type {
	Availability,
	Connected,
	CurrentPage,
	HeartbeatLimit,
	LastSeenStore,
	PersonRef,
	PresenceChange,
	PresenceEngine,
	PresenceListener,
	PresenceState,
	PresenceStats,
	PresenceTimings,
	TypingChange,
	TypingListener
} from '../types';
import type { RedisClient } from './client';
import { encodePage } from './codec';
import { DueSweeper } from './due-sweeper';
import { HeldConnections } from './held-connections';
import { PresenceKeys } from './keys';
import { NodeLease } from './node-lease';
import { PresenceBus } from './presence-bus';
import { PresenceReads } from './presence-reads';
import { PresenceScripts } from './presence-scripts';
import { PresenceSignals } from './presence-signals';

export interface RedisPresenceOptions {
	/**
	 * Command client: a Redis or a Redis Cluster. Give it a short `commandTimeout` (about 1 s;
	 * for a Cluster in `redisOptions`) and few retries per request.
	 */
	redis: RedisClient;
	/**
	 * The node's one subscriber connection (may be shared with other buses), of the same kind
	 * as `redis`; default `redis.duplicate()`.
	 */
	subscriber?: RedisClient;
	/** Every key and channel starts with it. */
	keyPrefix: string;
	timings: PresenceTimings;
	lastSeen: LastSeenStore;
	/** Stable name of this node (logs, lease key); default a random id. */
	nodeId?: string;
	logger?: PresenceLogger;
	/** How long a person's summary (version, last seen) outlives its last change; default 30 days. */
	summaryTtlMs?: number;
}

const DEFAULT_SUMMARY_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * The Redis backend of the presence engine: any number of nodes share one Redis (or Cluster).
 * Every transition is one Lua script (lua/*.lua, called through presence-scripts.ts) that also
 * publishes its change. This class only wires the node's parts, each with its own failure
 * paths: the connections held here (held-connections.ts), the node lease and reincarnation
 * (node-lease.ts), the due sweep and reaping (due-sweeper.ts), the bus and reconcile
 * (presence-bus.ts), and snapshots (presence-reads.ts). See README.md for the whole picture.
 */
export class RedisPresenceEngine implements PresenceEngine {
	readonly nodeId: string;

	#log: ThrottledLog;
	#lastSeen: LastSeenWriter;
	#lease: NodeLease;
	#sweeper: DueSweeper;
	#connections: HeldConnections;
	#bus: PresenceBus;
	#reads: PresenceReads;
	#signals: PresenceSignals;
	#started = false;
	#stopped = false;
	#changesPublished = 0;

	constructor(options: RedisPresenceOptions) {
		this.nodeId = options.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
		const { redis, timings } = options;
		const keys = new PresenceKeys(options.keyPrefix);
		const logger = options.logger ?? console;
		const log = (this.#log = new ThrottledLog(logger));
		this.#lastSeen = new LastSeenWriter(options.lastSeen, log);
		// Bookkeeping after any workspace script: last_seen_at writes. Events come back via the bus.
		const scripts = new PresenceScripts(
			redis,
			keys,
			options.summaryTtlMs ?? DEFAULT_SUMMARY_TTL_MS,
			(workspaceId, transition) => {
				this.#changesPublished += transition.changes.length;
				for (const userId of transition.seen) {
					this.#lastSeen.add(workspaceId, userId, transition.now);
				}
			}
		);
		const ctx = { redis, keys, timings, scripts, log, logger };
		const lease = (this.#lease = new NodeLease(ctx, {
			nodeId: this.nodeId,
			events: {
				incarnated: (old, holder) => this.#connections.incarnated(old, holder),
				reacquired: () => {
					this.#connections.markAllDirty();
					// Listeners may hold states Redis no longer backs (people in grace, people whose node
					// died meanwhile): reconcile once the surviving nodes have re-registered.
					this.#bus.scheduleReconcile();
				},
				ticked: () => this.#connections.flushDirty()
			}
		}));
		const sweeper = (this.#sweeper = new DueSweeper(ctx, { lease, lastSeen: this.#lastSeen }));
		this.#connections = new HeldConnections(ctx, { lease, sweeper });
		this.#bus = new PresenceBus(ctx, { subscriber: options.subscriber, held: this.#connections });
		this.#reads = new PresenceReads(ctx, this.#bus);
		this.#signals = new PresenceSignals(ctx, sweeper);
	}

	// ---------------------------------------------------------------- connections

	async connect(person: PersonRef, read?: readonly string[]): Promise<Connected> {
		const { connectionId, change, summaries } = await this.#connections.connect(person, read);
		if (!read || !summaries) return { connectionId, change };
		return {
			connectionId,
			change,
			states: this.#reads.decode(person.workspaceId, read, summaries)
		};
	}

	heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		return this.#connections.heartbeat(connectionId, userId, limit);
	}

	disconnect(connectionId: string): Promise<PresenceChange | null> {
		return this.#connections.disconnect(connectionId);
	}

	focus(connectionId: string, conversationId: string | null): Promise<PresenceChange | null> {
		return this.#connections.report(connectionId, 'f', conversationId ?? '');
	}

	page(connectionId: string, page: CurrentPage): Promise<PresenceChange | null> {
		return this.#connections.report(connectionId, 'p', encodePage(page));
	}

	owner(connectionId: string): Promise<PersonRef | null> {
		return this.#connections.owner(connectionId);
	}

	// ---------------------------------------------------------------- reads

	read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>> {
		return this.#reads.read(workspaceId, userIds);
	}

	isOnline(workspaceId: string, userId: string): Promise<boolean> {
		return this.#reads.isOnline(workspaceId, userId);
	}

	online(workspaceId: string, limit: number): Promise<PresenceState[]> {
		return this.#reads.online(workspaceId, limit);
	}

	// ---------------------------------------------------------------- bus

	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		return this.#bus.listen(workspaceId, listener, signal);
	}

	listenTyping(workspaceId: string, listener: TypingListener, signal: AbortSignal): Promise<void> {
		return this.#bus.listenTyping(workspaceId, listener, signal);
	}

	watchExpiry(connectionId: string, onExpired: () => void, signal: AbortSignal): void {
		this.#bus.watchExpiry(connectionId, onExpired, signal);
	}

	watchExpiries(onExpired: (connectionId: string) => void, signal: AbortSignal): void {
		this.#bus.watchExpiries(onExpired, signal);
	}

	// ---------------------------------------------------------------- idle, availability, typing

	idle(connectionId: string, idle: boolean): Promise<PresenceChange | null> {
		return this.#signals.idle(connectionId, idle);
	}

	setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null> {
		return this.#signals.setAvailability(workspaceId, userId, availability);
	}

	typing(
		connectionId: string,
		conversationId: string,
		ttlMs: number
	): Promise<TypingChange | null> {
		return this.#signals.typing(connectionId, conversationId, ttlMs);
	}

	stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null> {
		return this.#signals.stopTyping(workspaceId, userId, conversationId);
	}

	// ---------------------------------------------------------------- lifecycle

	async start(): Promise<void> {
		if (this.#started) return;
		this.#started = true;
		this.#stopped = false;
		await this.#lease.start();
		this.#sweeper.start();
	}

	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		this.#bus.stop();
		await Promise.all([this.#lease.stop(), this.#sweeper.stop()]);
		// Goodbye with grace: a client that reconnects to another node within it shows nothing.
		const clean = await this.#connections.removeAll();
		await this.#lastSeen.flush();
		await this.#lease.release(clean);
		this.#bus.detach();
	}

	/**
	 * Test hook: behaves like a crash (no goodbye, no cleanup in Redis): timers stop, the bus
	 * is detached, the lease is left to lapse. The caller disconnects the clients.
	 */
	haltForTest(): void {
		this.#stopped = true;
		this.#lease.halt();
		this.#sweeper.halt();
		this.#bus.stop();
		this.#bus.detach();
	}

	// ---------------------------------------------------------------- introspection (metrics, tests)

	async stats(): Promise<PresenceStats> {
		const sweepLagMs = await this.#sweeper.lagMs();
		const redisErrors: Record<string, number> = {};
		for (const [key, n] of this.#log.byKey) {
			// last_seen_at goes to Postgres: the database's own error count has those.
			if (!key.startsWith('last-seen')) redisErrors[key] = n;
		}
		return {
			local_connections: this.#connections.size,
			local_people: this.#connections.people,
			sweep_lag_ms: sweepLagMs,
			errors_total: this.#log.count,
			redis_errors: redisErrors,
			changes_published_total: this.#changesPublished,
			changes_received_total: this.#bus.changesReceived,
			// Never renewed yet (Redis away since start): the age since start is how long it is overdue.
			lease_refresh_age_ms: this.#lease.refreshAgeMs,
			reincarnations_total: this.#lease.reincarnations
		};
	}

	/** The current incarnation's id in Redis (lease key suffix). */
	get holderId(): string {
		return this.#lease.holder;
	}
}

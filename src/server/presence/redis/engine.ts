import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { subscribeWithin } from '../../redis/clients';
import { newConnectionId, workspaceOfConnection } from '../shared/ids';
import { LastSeenWriter } from '../shared/last-seen-writer';
import { ListenerSet } from '../../events/listeners';
import { LocalFanout } from '../shared/listeners';
import { ThrottledLog, type PresenceLogger } from '../shared/logger';
import { RepeatingTask } from '../shared/timer';
import type {
	Availability,
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
import { INHERITED_FOCUS_MS } from '../types';
import { offlineState } from '../shared/state';
import { decodeBusMessage, decodeSummary, encodePage } from './codec';
import { commandTimeoutOf, duplicateClient, type RedisClient } from './client';
import { ScriptCaller, type TransitionResult } from './commands';
import { DueNotes } from './due-notes';
import { PresenceKeys } from './keys';

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

/** What this node knows of a connection it holds (a stream is open here), to re-register it. */
interface HeldConnection {
	workspaceId: string;
	userId: string;
	focus: string | null;
	/** Report time from Redis (decimal µs string), '0' when never confirmed by Redis. */
	focusAt: string;
	page: string | null;
	pageAt: string;
	/** A focus/page report that failed (Redis away): sent again with the re-registration. */
	pendingFocus: boolean;
	pendingPage: boolean;
}

const DEFAULT_SUMMARY_TTL_MS = 30 * 24 * 3600 * 1000;
/** Due items one sweep script claims per kind; more are left for the next call. */
const SWEEP_BATCH = 500;
/** Workspaces claimed per CLAIM call; a sweep tick loops while there are more. */
const CLAIM_BATCH = 100;
/** Batches swept back to back in one claimed workspace before it is settled (a busy workspace). */
const MAX_BATCHES_PER_CLAIM = 40;
const MAX_CLAIM_ROUNDS = 20;
/** Parallel workspace scripts in one sweep (they pipeline on the one connection). */
const PARALLEL = 32;

/**
 * The Redis backend of the presence engine: any number of nodes share one Redis (or Cluster).
 * Every transition is one Lua script (scripts.ts) that also publishes its change; this class
 * holds the node's side: its connections, the bus fan-out, the lease, the sweeper, and the
 * recovery when Redis fails or loses its data. See README.md for the whole picture.
 */
export class RedisPresenceEngine implements PresenceEngine {
	readonly nodeId: string;

	#redis: RedisClient;
	#subscriber: RedisClient;
	#ownsSubscriber: boolean;
	#keys: PresenceKeys;
	#timings: PresenceTimings;
	#scripts: ScriptCaller;
	#logger: PresenceLogger;
	#log: ThrottledLog;
	#lastSeen: LastSeenWriter;
	#fanout: LocalFanout;

	/**
	 * This node incarnation's id in Redis. A new one is taken whenever the lease was found
	 * missing, so a sweeper reaping the old incarnation can never remove connections the node
	 * re-registered under the new one.
	 */
	#holder: string;
	#subscribeWaitMs: number;
	#held = new Map<string, HeldConnection>();
	/** Held connections whose registration or last report may be missing in Redis. */
	#dirty = new Set<string>();
	/** Workspaces recorded in this incarnation's `node:<holder>:ws` set. */
	#registeredWorkspaces = new Set<string>();
	/** Per listened workspace: the newest version seen per person, for reconcile(). */
	#known = new Map<string, Map<string, { version: number; online: boolean }>>();

	#leaseTask: RepeatingTask;
	#sweepTask: RepeatingTask;
	#typingListeners = new ListenerSet<TypingChange>({
		onError: (error) => this.#log.warn('typing', 'a typing listener threw', error)
	});
	/** Due-index updates that failed: retried each sweep tick, or a grace could never be swept. */
	#pendingNotes = new Map<string, number>();
	#dueNotes = new DueNotes((ws, deadline) => this.#scripts.noteDue(this.#keys.due, ws, deadline));
	/**
	 * No reaping of other nodes before this time: after this node itself had trouble reaching
	 * Redis (a pause, a restart), every lease may have lapsed at once; live nodes renew theirs
	 * within a third of the TTL, so waiting one TTL keeps them from being reaped by mistake.
	 */
	#reapNotBefore = 0;
	#reconcileTimer: NodeJS.Timeout | null = null;
	#flushingDirty: Promise<void> | null = null;
	#started = false;
	#stopped = false;
	#redisWasReady = false;
	#subscriberWasReady = false;
	/** When the lease was last taken or renewed (epoch ms); 0 until the first time. */
	#leaseRenewedAt = 0;
	#startedAt = Date.now();
	#reincarnations = 0;
	#changesPublished = 0;
	#changesReceived = 0;

	constructor(options: RedisPresenceOptions) {
		this.nodeId = options.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
		this.#redis = options.redis;
		// A new stream waits this long at most for its channel (the command client's own timeout).
		this.#subscribeWaitMs = commandTimeoutOf(options.redis) ?? 1000;
		this.#ownsSubscriber = !options.subscriber;
		this.#subscriber = options.subscriber ?? duplicateClient(options.redis);
		if (this.#ownsSubscriber) this.#subscriber.on('error', () => {});
		this.#keys = new PresenceKeys(options.keyPrefix);
		this.#timings = options.timings;
		this.#scripts = new ScriptCaller(this.#redis, options.summaryTtlMs ?? DEFAULT_SUMMARY_TTL_MS);
		this.#logger = options.logger ?? console;
		this.#log = new ThrottledLog(this.#logger);
		this.#lastSeen = new LastSeenWriter(options.lastSeen, this.#log);
		this.#holder = this.#newHolder();
		this.#fanout = new LocalFanout({
			onFirst: (ws) => this.#subscribe(ws),
			onLast: (ws) => {
				this.#known.delete(ws);
				this.#subscriber.unsubscribe(this.#keys.channel(ws)).catch(() => {});
			},
			onError: (error) => this.#logger.error('[presence] a listener threw:', error)
		});
		this.#leaseTask = new RepeatingTask(
			Math.max(20, Math.floor(this.#timings.leaseTtlMs / 3)),
			() => this.#leaseTick(),
			(error) => {
				this.#holdReaping();
				this.#log.warn('lease', 'lease refresh failed', error);
			}
		);
		this.#sweepTask = new RepeatingTask(
			this.#timings.sweepIntervalMs,
			() => this.#sweepTick(),
			(error) => this.#log.warn('sweep', 'sweep failed', error)
		);
		// A client that is already connected has had its first 'ready': the next one is a reconnect.
		this.#redisWasReady = this.#redis.status === 'ready';
		this.#subscriberWasReady = this.#subscriber.status === 'ready';
		this.#subscriber.on('message', this.#onMessage);
		this.#subscriber.on('ready', this.#onSubscriberReady);
		this.#redis.on('ready', this.#onRedisReady);
	}

	// ---------------------------------------------------------------- connections

	async connect(
		person: PersonRef
	): Promise<{ connectionId: string; change: PresenceChange | null }> {
		const connectionId = newConnectionId(person.workspaceId);
		const held: HeldConnection = {
			workspaceId: person.workspaceId,
			userId: person.userId,
			focus: null,
			focusAt: '0',
			page: null,
			pageAt: '0',
			pendingFocus: false,
			pendingPage: false
		};
		this.#held.set(connectionId, held);
		try {
			const result = await this.#register(connectionId, held);
			return { connectionId, change: lastChangeOf(result.changes, person.userId) };
		} catch (error) {
			// Fail soft: the stream stays open; the lease tick registers it once Redis answers.
			this.#dirty.add(connectionId);
			this.#log.warn('connect', 'connect could not reach Redis, will register later', error);
			return { connectionId, change: null };
		}
	}

	async heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return false;
		const held = this.#held.get(connectionId);
		if (held && userId !== undefined && held.userId !== userId) return false;
		try {
			const alive = await this.#scripts.heartbeat(
				this.#keys.workspace(ws),
				ws,
				connectionId,
				this.#timings.heartbeatTimeoutMs,
				userId,
				limit
			);
			if (alive) return alive;
			// Unknown to Redis but its stream is open here: Redis lost it (restart, flush) before
			// the lease tick noticed. The client is evidently alive: register it again now.
			if (!held) return false;
			await this.#register(connectionId, held);
			return true;
		} catch (error) {
			this.#log.warn('heartbeat', 'heartbeat could not reach Redis', error);
			if (!held) return false;
			this.#dirty.add(connectionId);
			return true;
		}
	}

	async disconnect(connectionId: string): Promise<PresenceChange | null> {
		const held = this.#held.get(connectionId);
		this.#held.delete(connectionId);
		this.#dirty.delete(connectionId);
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const result = await this.#removeConnection(connectionId, ws);
			if (!result) return null;
			const user = result.extra[1];
			return lastChangeOf(result.changes, typeof user === 'string' ? user : held?.userId);
		} catch (error) {
			// Its heartbeats stop now, so the sweep expires it after the heartbeat timeout.
			this.#log.warn(
				'disconnect',
				'disconnect could not reach Redis (the sweep will expire it)',
				error
			);
			return null;
		}
	}

	focus(connectionId: string, conversationId: string | null): Promise<PresenceChange | null> {
		return this.#report(connectionId, 'f', conversationId ?? '');
	}

	page(connectionId: string, page: CurrentPage): Promise<PresenceChange | null> {
		return this.#report(connectionId, 'p', encodePage(page));
	}

	async owner(connectionId: string): Promise<PersonRef | null> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const userId = await this.#redis.hget(this.#keys.connection(ws, connectionId), 'u');
			if (userId !== null) return { workspaceId: ws, userId };
			const held = this.#held.get(connectionId);
			// Held here but unknown to Redis: Redis lost it; heartbeat() registers it again.
			return held ? { workspaceId: ws, userId: held.userId } : null;
		} catch (error) {
			this.#log.warn('owner', 'owner lookup could not reach Redis', error);
			const held = this.#held.get(connectionId);
			return held ? { workspaceId: ws, userId: held.userId } : null;
		}
	}

	// ---------------------------------------------------------------- reads

	async read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>> {
		const states = new Map<string, PresenceState>();
		if (userIds.length === 0) return states;
		try {
			// ONE round trip whatever the size: all keys share the workspace's hash tag.
			const raw = await this.#redis.mget(userIds.map((id) => this.#keys.summary(workspaceId, id)));
			userIds.forEach((id, i) => states.set(id, decodeSummary(id, raw[i])));
			// Snapshots teach reconcile() about people no change mentioned yet. A read never
			// raises a version already known: it reached one caller, not the listeners, and
			// reconcile must still replay the newer state to them (e.g. a re-registration whose
			// PUBLISH went out before the subscriber was back).
			const known = this.#known.get(workspaceId);
			if (known) {
				for (const state of states.values()) {
					if (!known.has(state.userId)) this.#remember(known, state);
				}
			}
		} catch (error) {
			// When in doubt, assume they are gone (docs/design.md §2).
			this.#log.warn('read', 'presence read failed, answering offline', error);
			for (const id of userIds) states.set(id, offlineState(id));
		}
		return states;
	}

	async isOnline(workspaceId: string, userId: string): Promise<boolean> {
		try {
			const raw = await this.#redis.get(this.#keys.summary(workspaceId, userId));
			return decodeSummary(userId, raw).isOnline;
		} catch (error) {
			this.#log.warn('read', 'presence read failed, answering offline', error);
			return false;
		}
	}

	async online(workspaceId: string, limit: number): Promise<PresenceState[]> {
		if (limit <= 0) return [];
		try {
			// A person has a few tabs at most: looking at 4 connections per wanted person bounds
			// the script's work in a busy workspace without missing anyone in a normal one.
			const flat = await this.#scripts.online(this.#keys.workspace(workspaceId), limit, limit * 4);
			const states: PresenceState[] = [];
			for (let i = 0; i + 1 < flat.length; i += 2) {
				const state = decodeSummary(flat[i]!, flat[i + 1]);
				if (state.isOnline) states.push(state);
			}
			return states;
		} catch (error) {
			this.#log.warn('read', 'online read failed, answering nobody', error);
			return [];
		}
	}

	// ---------------------------------------------------------------- bus

	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		if (!this.#known.has(workspaceId) && !signal.aborted) this.#known.set(workspaceId, new Map());
		return this.#fanout.listen(workspaceId, listener, signal);
	}

	async idle(connectionId: string, idle: boolean): Promise<PresenceChange | null> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const result = await this.#scripts.workspace('presenceIdle', this.#keys.workspace(ws), ws, [
				connectionId,
				idle ? '1' : '0'
			]);
			if (!result) return null;
			this.#afterTransition(ws, result);
			return result.changes.at(-1) ?? null;
		} catch (error) {
			// Not retried: the next input or idle report says it again, and active is the safe side.
			this.#log.warn('idle', 'idle report could not reach Redis', error);
			return null;
		}
	}

	async setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null> {
		try {
			const result = await this.#scripts.workspace(
				'presenceAvailability',
				this.#keys.workspace(workspaceId),
				workspaceId,
				[userId, availability]
			);
			if (!result) return null;
			this.#afterTransition(workspaceId, result);
			return result.changes.at(-1) ?? null;
		} catch (error) {
			// Postgres already has it and every read falls back to it; only the live change is lost.
			this.#log.warn('availability', 'availability could not reach Redis', error);
			return null;
		}
	}

	// ---------------------------------------------------------------- typing

	async typing(
		connectionId: string,
		conversationId: string,
		ttlMs: number
	): Promise<TypingChange | null> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const result = await this.#scripts.workspace<number | string>(
				'presenceTyping',
				this.#keys.workspace(ws),
				ws,
				[connectionId, conversationId, ttlMs]
			);
			if (!result) return null;
			const [deadline, started, userId] = result.extra;
			if (started !== 1) return null;
			// The sweep must visit this workspace by the deadline, whichever node survives.
			await this.#noteDue(ws, Number(deadline));
			return { workspaceId: ws, conversationId, userId: String(userId), typing: true };
		} catch (error) {
			// No typing shown while Redis is away: better than a "typing…" nobody can end.
			this.#log.warn('typing', 'typing could not reach Redis', error);
			return null;
		}
	}

	async stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null> {
		try {
			const result = await this.#scripts.workspace<number>(
				'presenceStopTyping',
				this.#keys.workspace(workspaceId),
				workspaceId,
				[conversationId, userId]
			);
			return result?.extra[0] === 1 ? { workspaceId, conversationId, userId, typing: false } : null;
		} catch (error) {
			// Its deadline still ends it, within the typing TTL.
			this.#log.warn('typing', 'ending typing could not reach Redis', error);
			return null;
		}
	}

	listenTyping(workspaceId: string, listener: TypingListener, signal: AbortSignal): Promise<void> {
		if (signal.aborted) return Promise.resolve();
		void this.#typingListeners.add(workspaceId, listener, signal);
		// Typing shares the workspace channel: a presence listener holds its subscription.
		return this.listen(workspaceId, () => {}, signal);
	}

	watchExpiry(connectionId: string, onExpired: () => void, signal: AbortSignal): void {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return;
		this.#fanout.watch(ws, connectionId, onExpired, signal);
	}

	watchExpiries(onExpired: (connectionId: string) => void, signal: AbortSignal): void {
		this.#fanout.watchAll(onExpired, signal);
	}

	async #subscribe(workspaceId: string): Promise<void> {
		// Bounded: while Redis is away a stream must still open (its snapshot says offline). The
		// subscriber connection may queue the SUBSCRIBE until Redis answers; if it gave up
		// instead, the subscriber's 'ready' handler subscribes every wanted channel again.
		if (
			!(await subscribeWithin(
				// It only calls subscribe(), which a Cluster has with the same signature.
				this.#subscriber as Redis,
				this.#keys.channel(workspaceId),
				this.#subscribeWaitMs
			))
		) {
			this.#log.warn('subscribe', `subscribe to workspace ${workspaceId} not confirmed yet`);
		}
	}

	#onMessage = (channel: string, payload: string): void => {
		const ws = this.#keys.workspaceOfChannel(channel);
		if (ws === null) return;
		const message = decodeBusMessage(payload);
		if (!message) return;
		switch (message.k) {
			case 'c': {
				this.#changesReceived++;
				const known = this.#known.get(ws);
				if (known) this.#remember(known, message.change);
				this.#fanout.emit(message.change);
				return;
			}
			case 'x':
				for (const connectionId of message.connections) {
					this.#held.delete(connectionId);
					this.#dirty.delete(connectionId);
					this.#fanout.expire(connectionId);
				}
				return;
			case 't':
				this.#typingListeners.emit(ws, message.change);
				return;
			case 'r': {
				const held = this.#held.get(message.connection);
				if (!held) return;
				const value = message.value === '' ? null : message.value;
				if (message.field === 'f' && BigInt(message.at) > BigInt(held.focusAt)) {
					held.focus = value;
					held.focusAt = message.at;
				} else if (message.field === 'p' && BigInt(message.at) > BigInt(held.pageAt)) {
					held.page = value;
					held.pageAt = message.at;
				}
				return;
			}
		}
	};

	#remember(known: Map<string, { version: number; online: boolean }>, state: PresenceState) {
		const seen = known.get(state.userId);
		if (!seen || state.version > seen.version) {
			known.set(state.userId, { version: state.version, online: state.isOnline });
		}
	}

	#onSubscriberReady = (): void => {
		if (!this.#subscriberWasReady) {
			this.#subscriberWasReady = true;
			return;
		}
		// Reconnected: make sure every wanted channel is subscribed (one that failed while Redis
		// was away is not in ioredis's own resubscribe list), then catch up on what was missed.
		const channels = this.#fanout.workspaces().map((ws) => this.#keys.channel(ws));
		if (channels.length) this.#subscriber.subscribe(...channels).catch(() => {});
		this.#scheduleReconcile();
	};

	#onRedisReady = (): void => {
		if (!this.#redisWasReady) {
			this.#redisWasReady = true;
			return;
		}
		// Reconnected (maybe to an empty Redis): check the lease now rather than at the next tick.
		this.#holdReaping();
		if (this.#started && !this.#stopped) void this.#leaseTask.runNow();
	};

	// ---------------------------------------------------------------- lifecycle

	async start(): Promise<void> {
		if (this.#started) return;
		this.#started = true;
		this.#stopped = false;
		try {
			await this.#acquireLease();
		} catch (error) {
			// Redis away at start: the lease tick keeps trying; presence answers offline meanwhile.
			this.#log.warn('lease', 'could not take the node lease at start', error);
		}
		this.#leaseTask.start();
		this.#sweepTask.start();
	}

	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
		await Promise.all([this.#leaseTask.stop(), this.#sweepTask.stop()]);
		// Goodbye with grace: a client that reconnects to another node within it shows nothing.
		const ids = [...this.#held.keys()];
		let clean = true;
		await Promise.all(
			ids.map(async (id) => {
				const ws = workspaceOfConnection(id);
				this.#held.delete(id);
				if (!ws) return;
				try {
					await this.#removeConnection(id, ws);
				} catch {
					clean = false;
				}
			})
		);
		this.#dirty.clear();
		await this.#lastSeen.flush();
		try {
			await this.#redis.del(this.#keys.lease(this.#holder));
			// With connections left behind (Redis failed), stay registered: another node's sweep
			// finds the lease gone and expires them at once.
			if (clean) {
				await this.#redis.del(this.#keys.holderWorkspaces(this.#holder));
				await this.#redis.srem(this.#keys.nodes, this.#holder);
			}
		} catch (error) {
			this.#log.warn('lease', 'releasing the lease failed (it lapses on its own)', error);
		}
		this.#detach();
	}

	/**
	 * Test hook: behaves like a crash (no goodbye, no cleanup in Redis): timers stop, the bus
	 * is detached, the lease is left to lapse. The caller disconnects the clients.
	 */
	haltForTest(): void {
		this.#stopped = true;
		this.#leaseTask.halt();
		this.#sweepTask.halt();
		if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
		this.#detach();
	}

	#detach(): void {
		this.#subscriber.off('message', this.#onMessage);
		this.#subscriber.off('ready', this.#onSubscriberReady);
		this.#redis.off('ready', this.#onRedisReady);
		const channels = this.#fanout.workspaces().map((ws) => this.#keys.channel(ws));
		if (this.#ownsSubscriber) {
			this.#subscriber.disconnect();
		} else if (channels.length) {
			this.#subscriber.unsubscribe(...channels).catch(() => {});
		}
	}

	// ---------------------------------------------------------------- internals: transitions

	async #register(connectionId: string, held: HeldConnection) {
		const holder = await this.#ensureWorkspaceRecorded(held.workspaceId);
		const ws = held.workspaceId;
		const result = await this.#scripts.workspace<number>(
			'presenceRegister',
			this.#keys.workspace(ws),
			ws,
			[
				connectionId,
				held.userId,
				holder,
				this.#timings.heartbeatTimeoutMs,
				held.focus ?? '',
				held.focusAt,
				held.page ?? '',
				held.pageAt,
				this.#timings.inheritedFocusMs ?? INHERITED_FOCUS_MS
			]
		);
		if (!result) throw new Error('register returned nothing');
		this.#afterTransition(ws, result);
		if (holder !== this.#holder) {
			// We reincarnated while this was in flight: it may have landed after the connection's
			// re-registration under the new incarnation and moved it back under the old one, which
			// has no lease and that no reaper looks at, so a crash of this node would leave it to
			// the heartbeat timeout (seen in the truth benchmark after a Redis restart). Redo it.
			this.#dirty.add(connectionId);
			void this.#flushDirty();
		}
		const deadline = result.extra[0];
		if (deadline !== undefined) await this.#noteDue(ws, Number(deadline));
		if (this.#held.get(connectionId) !== held) {
			// Its stream closed (or it expired) while we were registering it: the disconnect may
			// have reached Redis first and found nothing. Remove it now rather than leave a ghost
			// until the heartbeat timeout.
			await this.#removeQuietly(connectionId, ws);
		}
		return result;
	}

	/**
	 * The disconnect script (with the grace), its changes, and the grace's end in the due index.
	 * Null when Redis did not know the connection. Throws when Redis cannot be reached.
	 */
	async #removeConnection(connectionId: string, ws: string) {
		const result = await this.#scripts.workspace<number | string | null>(
			'presenceDisconnect',
			this.#keys.workspace(ws),
			ws,
			[connectionId, this.#timings.graceMs]
		);
		if (!result) return null;
		this.#afterTransition(ws, result);
		const graceEnd = result.extra[0];
		if (graceEnd !== null && graceEnd !== undefined) await this.#noteDue(ws, Number(graceEnd));
		return result;
	}

	async #removeQuietly(connectionId: string, ws: string) {
		try {
			await this.#removeConnection(connectionId, ws);
		} catch (error) {
			this.#log.warn('disconnect', 'removing a closed connection failed (it will expire)', error);
		}
	}

	async #report(
		connectionId: string,
		field: 'f' | 'p',
		value: string
	): Promise<PresenceChange | null> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		const held = this.#held.get(connectionId);
		if (held) {
			if (field === 'f') held.focus = value || null;
			else held.page = value || null;
		}
		try {
			const result = await this.#scripts.workspace<string>(
				'presenceReport',
				this.#keys.workspace(ws),
				ws,
				[connectionId, field, value, this.#holder]
			);
			if (!result) {
				// Unknown to Redis. If its stream is open here, Redis lost it: register it again,
				// with this report, at the next lease tick (or sooner on a heartbeat).
				if (held) {
					this.#markPending(held, field);
					this.#dirty.add(connectionId);
				}
				return null;
			}
			this.#afterTransition(ws, result);
			if (held) {
				const at = result.extra[0] ?? '0';
				if (field === 'f') [held.focusAt, held.pendingFocus] = [at, false];
				else [held.pageAt, held.pendingPage] = [at, false];
			}
			return result.changes.at(-1) ?? null;
		} catch (error) {
			this.#log.warn('report', 'focus/page report could not reach Redis, will retry', error);
			if (held) {
				this.#markPending(held, field);
				this.#dirty.add(connectionId);
			}
			return null;
		}
	}

	#markPending(held: HeldConnection, field: 'f' | 'p') {
		if (field === 'f') held.pendingFocus = true;
		else held.pendingPage = true;
	}

	/** Bookkeeping after any workspace script: last_seen_at writes. Events come back via the bus. */
	#afterTransition(workspaceId: string, result: TransitionResult<unknown>) {
		this.#changesPublished += result.changes.length;
		for (const userId of result.seen) this.#lastSeen.add(workspaceId, userId, result.now);
	}

	/** Never throws: a failed update is kept and retried by the sweep tick. */
	async #noteDue(workspaceId: string, deadline: number) {
		try {
			await this.#dueNotes.note(workspaceId, deadline);
		} catch (error) {
			const pending = this.#pendingNotes.get(workspaceId);
			this.#pendingNotes.set(
				workspaceId,
				pending === undefined ? deadline : Math.min(pending, deadline)
			);
			this.#log.warn('note-due', 'updating the due index failed, will retry', error);
		}
	}

	async #retryNotes() {
		for (const [ws, deadline] of [...this.#pendingNotes]) {
			await this.#scripts.noteDue(this.#keys.due, ws, deadline);
			if (this.#pendingNotes.get(ws) === deadline) this.#pendingNotes.delete(ws);
		}
	}

	#holdReaping() {
		this.#reapNotBefore = Date.now() + this.#timings.leaseTtlMs + this.#timings.sweepIntervalMs;
	}

	/** Returns the incarnation the workspace was recorded for: register under that one only. */
	async #ensureWorkspaceRecorded(workspaceId: string): Promise<string> {
		const holder = this.#holder;
		if (this.#registeredWorkspaces.has(workspaceId)) return holder;
		// Before the connection exists in the workspace, so a reaper that finds our lease gone
		// always knows where to look.
		await this.#redis.sadd(this.#keys.holderWorkspaces(holder), workspaceId);
		// A reincarnation while the SADD was in flight (Redis just came back) cleared the cache
		// for the new holder: caching now would leave the new holder's list without this
		// workspace, and a crash of this node would then leave its people to the heartbeat
		// timeout instead of the reaper.
		if (this.#holder === holder) this.#registeredWorkspaces.add(workspaceId);
		return holder;
	}

	// ---------------------------------------------------------------- internals: lease

	#newHolder(): string {
		return `${this.nodeId}.${randomBytes(4).toString('hex')}`;
	}

	async #acquireLease() {
		await this.#redis.set(this.#keys.lease(this.#holder), '1', 'PX', this.#timings.leaseTtlMs);
		this.#leaseRenewedAt = Date.now();
		await this.#redis.sadd(this.#keys.nodes, this.#holder);
	}

	async #leaseTick() {
		if (this.#stopped) return;
		const refreshed = await this.#redis.set(
			this.#keys.lease(this.#holder),
			'1',
			'PX',
			this.#timings.leaseTtlMs,
			'XX'
		);
		if (refreshed === null) {
			this.#holdReaping();
			await this.#reincarnate();
		} else {
			this.#leaseRenewedAt = Date.now();
		}
		await this.#flushDirty();
	}

	/**
	 * Our lease is gone: Redis restarted or was flushed, or we stalled past the TTL and another
	 * node reaped us. Either way: new incarnation, then every held connection registered again.
	 */
	async #reincarnate() {
		const old = this.#holder;
		this.#holder = this.#newHolder();
		this.#reincarnations++;
		this.#registeredWorkspaces.clear();
		this.#logger.warn(
			`[presence] node lease ${old} was missing (Redis restarted/flushed, or this node stalled): re-registering ${this.#held.size} connection(s) as ${this.#holder}`
		);
		await this.#acquireLease();
		for (const id of this.#held.keys()) this.#dirty.add(id);
		// Listeners may hold states Redis no longer backs (people in grace, people whose node
		// died meanwhile): reconcile once the surviving nodes have re-registered.
		this.#scheduleReconcile();
	}

	/** One flush at a time; a call while one runs joins it. */
	#flushDirty(): Promise<void> {
		if (this.#flushingDirty) return this.#flushingDirty;
		// Cleared in a `.finally`, which always runs after this assignment: clearing it inside the
		// async body ran synchronously when there was nothing to flush, before the assignment, and
		// left a settled promise here for good, so nothing dirty was ever flushed again (live
		// connections stayed under an old incarnation after a Redis restart; the truth benchmark's
		// crash ghosts).
		const flushing = this.#flushDirtyPasses().finally(() => {
			if (this.#flushingDirty === flushing) this.#flushingDirty = null;
		});
		this.#flushingDirty = flushing;
		return flushing;
	}

	async #flushDirtyPasses(): Promise<void> {
		// A second pass when we reincarnated during the first: what the first registered under the
		// old incarnation is dirty again, and waiting for the next lease tick would leave it
		// without a live lease for that long.
		for (let pass = 0; pass < 2 && this.#dirty.size > 0; pass++) {
			const holder = this.#holder;
			const ids = [...this.#dirty];
			for (let i = 0; i < ids.length; i += PARALLEL) {
				await Promise.all(ids.slice(i, i + PARALLEL).map((id) => this.#reRegister(id)));
			}
			if (holder === this.#holder) break;
		}
	}

	async #reRegister(connectionId: string) {
		const held = this.#held.get(connectionId);
		if (!held) {
			this.#dirty.delete(connectionId);
			return;
		}
		try {
			const holder = this.#holder;
			await this.#register(connectionId, held);
			if (held.pendingFocus) await this.#report(connectionId, 'f', held.focus ?? '');
			if (held.pendingPage) await this.#report(connectionId, 'p', held.page ?? '');
			// Registered under an incarnation that is no longer ours: the lease tick's flush (or the
			// one `#register` started) must do it again, so it stays dirty.
			const current = holder === this.#holder;
			if (current && !held.pendingFocus && !held.pendingPage) this.#dirty.delete(connectionId);
		} catch (error) {
			this.#log.warn('reregister', 're-registering connections failed, will retry', error);
		}
	}

	// ---------------------------------------------------------------- internals: sweep

	async #sweepTick() {
		if (this.#stopped) return;
		try {
			if (this.#pendingNotes.size) await this.#retryNotes();
			await this.#sweepDue();
		} catch (error) {
			this.#holdReaping();
			this.#log.warn('sweep', 'sweep failed', error);
		}
		try {
			if (Date.now() >= this.#reapNotBefore) await this.#reapDeadNodes();
		} catch (error) {
			this.#holdReaping();
			this.#log.warn('reap', 'checking node leases failed', error);
		}
		await this.#lastSeen.flush();
	}

	/** Claims due workspaces (each claimed by one node at a time) and sweeps each with one script. */
	async #sweepDue() {
		const markerMs = Math.max(1000, 5 * this.#timings.sweepIntervalMs);
		for (let round = 0; round < MAX_CLAIM_ROUNDS && !this.#stopped; round++) {
			const claimed = await this.#scripts.claimDue(this.#keys.due, CLAIM_BATCH, markerMs);
			for (let i = 0; i < claimed.length; i += PARALLEL) {
				await Promise.all(
					claimed.slice(i, i + PARALLEL).map(async ([ws, marker]) => {
						// A busy workspace may have more than one batch due: keep sweeping it now rather
						// than a tick later, so its ghosts still go within timeout + sweep period.
						let next: number | null | undefined;
						for (let batch = 0; batch < MAX_BATCHES_PER_CLAIM && !this.#stopped; batch++) {
							const result = await this.#scripts.workspace<number | null>(
								'presenceSweep',
								this.#keys.workspace(ws),
								ws,
								[SWEEP_BATCH]
							);
							if (!result) return;
							this.#afterTransition(ws, result);
							next = result.extra[0];
							if (next === null || next === undefined || Number(next) > result.now) break;
						}
						await this.#scripts.settleDue(
							this.#keys.due,
							ws,
							marker,
							next === null || next === undefined ? null : Number(next)
						);
					})
				);
			}
			if (claimed.length < CLAIM_BATCH) return;
		}
	}

	/** A registered node incarnation whose lease lapsed: expire all its connections, per workspace. */
	async #reapDeadNodes() {
		const holders = await this.#redis.smembers(this.#keys.nodes);
		const others = holders.filter((h) => h !== this.#holder);
		if (others.length === 0) return;
		const alive = await Promise.all(others.map((h) => this.#redis.exists(this.#keys.lease(h))));
		for (const [i, holder] of others.entries()) {
			if (alive[i] || this.#stopped) continue;
			await this.#reap(holder);
		}
	}

	async #reap(holder: string) {
		const key = this.#keys.holderWorkspaces(holder);
		const workspaces = await this.#redis.smembers(key);
		let expired = 0;
		for (let i = 0; i < workspaces.length; i += PARALLEL) {
			await Promise.all(
				workspaces.slice(i, i + PARALLEL).map(async (ws) => {
					const result = await this.#scripts.workspace<number>(
						'presenceExpireHolder',
						this.#keys.workspace(ws),
						ws,
						[holder]
					);
					if (!result) return;
					this.#afterTransition(ws, result);
					expired += Number(result.extra[0] ?? 0);
					await this.#redis.srem(key, ws);
				})
			);
		}
		await this.#redis.srem(this.#keys.nodes, holder);
		if (expired > 0) {
			this.#logger.info(
				`[presence] node ${holder} lost its lease: expired ${expired} connection(s)`
			);
		}
	}

	// ---------------------------------------------------------------- internals: reconcile

	#scheduleReconcile() {
		if (this.#stopped || this.#reconcileTimer) return;
		// Wait a lease TTL: by then every live node noticed its lease missing and re-registered.
		this.#reconcileTimer = setTimeout(() => {
			this.#reconcileTimer = null;
			this.#reconcile().catch((error: unknown) => {
				this.#log.warn('reconcile', 'reconcile failed, retrying', error);
				this.#scheduleReconcile();
			});
		}, this.#timings.leaseTtlMs + this.#timings.sweepIntervalMs);
		this.#reconcileTimer.unref();
	}

	/**
	 * Makes local listeners right after Redis lost data or this node missed messages: people
	 * they hold online with nothing live behind them go offline (published, newer version), and
	 * newer states they missed are replayed to them.
	 */
	async #reconcile() {
		for (const [ws, known] of this.#known) {
			const held: string[] = [];
			for (const [userId, seen] of known) {
				if (seen.online) held.push(userId, String(seen.version));
			}
			if (held.length === 0) continue;
			const CHUNK = 1000;
			for (let i = 0; i < held.length; i += CHUNK) {
				const result = await this.#scripts.workspace<string[]>(
					'presenceReconcile',
					this.#keys.workspace(ws),
					ws,
					held.slice(i, i + CHUNK)
				);
				if (!result) continue;
				this.#afterTransition(ws, result);
				const newer = result.extra[0] ?? [];
				for (let j = 0; j + 1 < newer.length; j += 2) {
					const state = decodeSummary(newer[j]!, newer[j + 1]);
					const seen = known.get(state.userId);
					if (seen && state.version <= seen.version) continue;
					this.#remember(known, state);
					this.#fanout.emit({ ...state, workspaceId: ws });
				}
			}
		}
	}

	// ---------------------------------------------------------------- introspection (metrics, tests)

	async stats(): Promise<PresenceStats> {
		const people = new Set<string>();
		for (const held of this.#held.values()) people.add(`${held.workspaceId}:${held.userId}`);
		let sweepLagMs = 0;
		try {
			// The earliest due workspace; a sweeper's claim marker (a .5 score) is in the future.
			const [, score] = await this.#redis.zrange(this.#keys.due, '0', '0', 'WITHSCORES');
			if (score !== undefined && Number(score) % 1 === 0) {
				sweepLagMs = Math.max(0, Date.now() - Number(score));
			}
		} catch {
			// Redis away: errors_total tells.
		}
		const redisErrors: Record<string, number> = {};
		for (const [key, n] of this.#log.byKey) {
			// last_seen_at goes to Postgres: the database's own error count has those.
			if (!key.startsWith('last-seen')) redisErrors[key] = n;
		}
		return {
			local_connections: this.#held.size,
			local_people: people.size,
			sweep_lag_ms: sweepLagMs,
			errors_total: this.#log.count,
			redis_errors: redisErrors,
			changes_published_total: this.#changesPublished,
			changes_received_total: this.#changesReceived,
			// Never renewed yet (Redis away since start): the age since start is how long it is overdue.
			lease_refresh_age_ms: Date.now() - (this.#leaseRenewedAt || this.#startedAt),
			reincarnations_total: this.#reincarnations
		};
	}

	/** The current incarnation's id in Redis (lease key suffix). */
	get holderId(): string {
		return this.#holder;
	}
}

function lastChangeOf(
	changes: PresenceChange[],
	userId: string | undefined
): PresenceChange | null {
	for (let i = changes.length - 1; i >= 0; i--) {
		if (changes[i]!.userId === userId) return changes[i]!;
	}
	return changes.at(-1) ?? null;
}

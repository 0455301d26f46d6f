import type { Redis } from 'ioredis';
import { ListenerSet } from '../../../lib/listener-set';
import { subscribeWithin } from '../../redis/clients';
import { workspaceOfConnection } from '../shared/ids';
import { LocalFanout } from '../shared/local-fanout';
import type { PresenceListener, PresenceState, TypingChange, TypingListener } from '../types';
import { commandTimeoutOf, duplicateClient, type RedisClient } from './client';
import { decodeBusMessage, decodeSummary } from './codec';
import type { EngineContext } from './engine-context';
import type { HeldConnections } from './held-connections';

/** People reconcile.lua is asked about per call. */
const RECONCILE_CHUNK = 500;

/** The newest version seen of each person of one listened workspace, for reconcile. */
type Known = Map<string, { version: number; online: boolean }>;

/**
 * The node's side of the workspace channels: one subscription per workspace someone listens to
 * here, each message dispatched to local listeners (changes, typing, expiries) or to the held
 * connections (reports made through other nodes), and the reconcile that makes local listeners
 * right again after Redis lost data or the subscriber missed messages.
 */
export class PresenceBus {
	#ctx: EngineContext;
	#subscriber: RedisClient;
	#ownsSubscriber: boolean;
	#held: Pick<HeldConnections, 'expired' | 'reportedElsewhere'>;
	#subscribeWaitMs: number;
	#fanout: LocalFanout;
	#typingListeners: ListenerSet<TypingChange>;
	/** Per listened workspace: the newest version seen per person, for reconcile(). */
	#known = new Map<string, Known>();
	#reconcileTimer: NodeJS.Timeout | null = null;
	#stopped = false;
	#subscriberWasReady: boolean;
	#changesReceived = 0;

	constructor(
		ctx: EngineContext,
		options: {
			subscriber?: RedisClient;
			held: Pick<HeldConnections, 'expired' | 'reportedElsewhere'>;
		}
	) {
		this.#ctx = ctx;
		// A new stream waits this long at most for its channel (the command client's own timeout).
		this.#subscribeWaitMs = commandTimeoutOf(ctx.redis) ?? 1000;
		this.#ownsSubscriber = !options.subscriber;
		this.#subscriber = options.subscriber ?? duplicateClient(ctx.redis);
		if (this.#ownsSubscriber) this.#subscriber.on('error', () => {});
		this.#held = options.held;
		this.#typingListeners = new ListenerSet<TypingChange>({
			onError: (error) => this.#ctx.log.warn('typing', 'a typing listener threw', error)
		});
		this.#fanout = new LocalFanout({
			onFirst: (ws) => this.#subscribe(ws),
			onLast: (ws) => {
				this.#known.delete(ws);
				this.#subscriber.unsubscribe(this.#ctx.keys.channel(ws)).catch(() => {});
			},
			onError: (error) => ctx.logger.error('[presence] a listener threw:', error)
		});
		// A client that is already connected has had its first 'ready': the next one is a reconnect.
		this.#subscriberWasReady = this.#subscriber.status === 'ready';
		this.#subscriber.on('message', this.#onMessage);
		this.#subscriber.on('ready', this.#onSubscriberReady);
	}

	get changesReceived(): number {
		return this.#changesReceived;
	}

	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		if (!this.#known.has(workspaceId) && !signal.aborted) this.#known.set(workspaceId, new Map());
		return this.#fanout.listen(workspaceId, listener, signal);
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

	/**
	 * Snapshots teach reconcile() about people no change mentioned yet. A read never raises a
	 * version already known: it reached one caller, not the listeners, and reconcile must still
	 * replay the newer state to them (e.g. a re-registration whose PUBLISH went out before the
	 * subscriber was back).
	 */
	learn(workspaceId: string, states: Iterable<PresenceState>): void {
		const known = this.#known.get(workspaceId);
		if (!known) return;
		for (const state of states) {
			if (!known.has(state.userId)) remember(known, state);
		}
	}

	/** Reconcile once the surviving nodes had time to register again (after a lease TTL). */
	scheduleReconcile(): void {
		if (this.#stopped || this.#reconcileTimer) return;
		// Wait a lease TTL: by then every live node noticed its lease missing and re-registered.
		this.#reconcileTimer = setTimeout(() => {
			this.#reconcileTimer = null;
			this.#reconcile().catch((error: unknown) => {
				this.#ctx.log.warn('reconcile', 'reconcile failed, retrying', error);
				this.scheduleReconcile();
			});
		}, this.#ctx.timings.leaseTtlMs + this.#ctx.timings.sweepIntervalMs);
		this.#reconcileTimer.unref();
	}

	/** No more reconciles (stopping or halted). */
	stop(): void {
		this.#stopped = true;
		if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
	}

	/** Off the subscriber: disconnected if it is our own, else our channels unsubscribed. */
	detach(): void {
		this.#subscriber.off('message', this.#onMessage);
		this.#subscriber.off('ready', this.#onSubscriberReady);
		const channels = this.#fanout.workspaces().map((ws) => this.#ctx.keys.channel(ws));
		if (this.#ownsSubscriber) {
			this.#subscriber.disconnect();
		} else if (channels.length) {
			this.#subscriber.unsubscribe(...channels).catch(() => {});
		}
	}

	async #subscribe(workspaceId: string): Promise<void> {
		// Bounded: while Redis is away a stream must still open (its snapshot says offline). The
		// subscriber connection may queue the SUBSCRIBE until Redis answers; if it gave up
		// instead, the subscriber's 'ready' handler subscribes every wanted channel again.
		if (
			!(await subscribeWithin(
				// It only calls subscribe(), which a Cluster has with the same signature.
				this.#subscriber as Redis,
				this.#ctx.keys.channel(workspaceId),
				this.#subscribeWaitMs
			))
		) {
			this.#ctx.log.warn('subscribe', `subscribe to workspace ${workspaceId} not confirmed yet`);
		}
	}

	#onMessage = (channel: string, payload: string): void => {
		const ws = this.#ctx.keys.workspaceOfChannel(channel);
		if (ws === null) return;
		const message = decodeBusMessage(payload);
		if (!message) return;
		switch (message.k) {
			case 'c': {
				this.#changesReceived++;
				const known = this.#known.get(ws);
				if (known) remember(known, message.change);
				this.#fanout.emit(message.change);
				return;
			}
			case 'x':
				for (const connectionId of message.connections) {
					this.#held.expired(connectionId);
					this.#fanout.expire(connectionId);
				}
				return;
			case 't':
				this.#typingListeners.emit(ws, message.change);
				return;
			case 'r':
				this.#held.reportedElsewhere(message.connection, message.field, message.value, message.at);
				return;
		}
	};

	#onSubscriberReady = (): void => {
		if (!this.#subscriberWasReady) {
			this.#subscriberWasReady = true;
			return;
		}
		// Reconnected: make sure every wanted channel is subscribed (one that failed while Redis
		// was away is not in ioredis's own resubscribe list), then catch up on what was missed.
		const channels = this.#fanout.workspaces().map((ws) => this.#ctx.keys.channel(ws));
		if (channels.length) this.#subscriber.subscribe(...channels).catch(() => {});
		this.scheduleReconcile();
	};

	/**
	 * Makes local listeners right after Redis lost data or this node missed messages: people
	 * they hold online with nothing live behind them go offline (published, newer version), and
	 * newer states they missed are replayed to them.
	 */
	async #reconcile() {
		for (const [workspaceId, known] of this.#known) {
			const held: { userId: string; version: number }[] = [];
			for (const [userId, seen] of known) {
				if (seen.online) held.push({ userId, version: seen.version });
			}
			for (let i = 0; i < held.length; i += RECONCILE_CHUNK) {
				const result = await this.#ctx.scripts.reconcile({
					workspaceId,
					held: held.slice(i, i + RECONCILE_CHUNK)
				});
				if (!result) continue;
				const newer = result.newer;
				for (let j = 0; j + 1 < newer.length; j += 2) {
					const state = decodeSummary(newer[j]!, newer[j + 1]);
					const seen = known.get(state.userId);
					if (seen && state.version <= seen.version) continue;
					remember(known, state);
					this.#fanout.emit({ ...state, workspaceId });
				}
			}
		}
	}
}

function remember(known: Known, state: PresenceState) {
	const seen = known.get(state.userId);
	if (!seen || state.version > seen.version) {
		known.set(state.userId, { version: state.version, online: state.isOnline });
	}
}

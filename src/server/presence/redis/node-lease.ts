import { randomBytes } from 'node:crypto';
import { RepeatingTask } from '../shared/timer';
import type { EngineContext } from './engine-context';

/** What the lease asks of the rest of the node. */
export interface LeaseEvents {
	/**
	 * The lease was found missing and a new incarnation taken (called at once, before the new
	 * lease is written): what was recorded for the old one no longer counts.
	 */
	incarnated(old: string, holder: string): void;
	/** The new incarnation holds its lease: everything held must be registered again under it. */
	reacquired(): void;
	/** After every lease tick: register again what may be missing in Redis. */
	ticked(): Promise<void>;
}

/**
 * The node's lease in Redis (`node:<holder>`, PX leaseTtlMs), renewed every third of the TTL.
 * While it lives, the node's connections are its own; when it lapses another node's sweep
 * reaps them (due-sweeper.ts). Finding it missing means Redis restarted or was flushed, or
 * this node stalled past the TTL: the node reincarnates and registers everything again.
 */
export class NodeLease {
	readonly nodeId: string;

	#ctx: EngineContext;
	#events: LeaseEvents;
	/**
	 * This node incarnation's id in Redis. A new one is taken whenever the lease was found
	 * missing, so a sweeper reaping the old incarnation can never remove connections the node
	 * re-registered under the new one.
	 */
	#holder: string;
	#task: RepeatingTask;
	/**
	 * No reaping of other nodes before this time: after this node itself had trouble reaching
	 * Redis (a pause, a restart), every lease may have lapsed at once; live nodes renew theirs
	 * within a third of the TTL, so waiting one TTL keeps them from being reaped by mistake.
	 */
	#reapNotBefore = 0;
	#started = false;
	#stopped = false;
	#redisWasReady: boolean;
	/** When the lease was last taken or renewed (epoch ms); 0 until the first time. */
	#renewedAt = 0;
	#startedAt = Date.now();
	#reincarnations = 0;

	constructor(ctx: EngineContext, options: { nodeId: string; events: LeaseEvents }) {
		this.#ctx = ctx;
		this.nodeId = options.nodeId;
		this.#events = options.events;
		this.#holder = this.#newHolder();
		this.#task = new RepeatingTask(
			Math.max(20, Math.floor(this.#ctx.timings.leaseTtlMs / 3)),
			() => this.#tick(),
			(error) => {
				this.holdReaping();
				this.#ctx.log.warn('lease', 'lease refresh failed', error);
			}
		);
		// A client that is already connected has had its first 'ready': the next one is a reconnect.
		this.#redisWasReady = this.#ctx.redis.status === 'ready';
		this.#ctx.redis.on('ready', this.#onRedisReady);
	}

	/** The current incarnation's id in Redis (lease key suffix). */
	get holder(): string {
		return this.#holder;
	}

	get reincarnations(): number {
		return this.#reincarnations;
	}

	/** How long since the lease was last renewed; never renewed yet: the age since start. */
	get refreshAgeMs(): number {
		return Date.now() - (this.#renewedAt || this.#startedAt);
	}

	/** Whether this node may reap other nodes now (see `#reapNotBefore`). */
	get mayReap(): boolean {
		return Date.now() >= this.#reapNotBefore;
	}

	/** This node had trouble reaching Redis: reap no other node for a lease TTL. */
	holdReaping(): void {
		this.#reapNotBefore =
			Date.now() + this.#ctx.timings.leaseTtlMs + this.#ctx.timings.sweepIntervalMs;
	}

	async start(): Promise<void> {
		this.#started = true;
		this.#stopped = false;
		try {
			await this.#acquire();
		} catch (error) {
			// Redis away at start: the lease tick keeps trying; presence answers offline meanwhile.
			this.#ctx.log.warn('lease', 'could not take the node lease at start', error);
		}
		this.#task.start();
	}

	/** Stops renewing (waits for a tick in progress); the lease stays until `release`. */
	async stop(): Promise<void> {
		this.#stopped = true;
		await this.#task.stop();
	}

	/**
	 * Goodbye: the lease goes now. With connections left behind (`clean` false: Redis failed),
	 * the incarnation stays registered: another node's sweep finds the lease gone and expires
	 * them at once.
	 */
	async release(clean: boolean): Promise<void> {
		try {
			await this.#ctx.redis.del(this.#ctx.keys.lease(this.#holder));
			if (clean) {
				await this.#ctx.redis.del(this.#ctx.keys.holderWorkspaces(this.#holder));
				await this.#ctx.redis.srem(this.#ctx.keys.nodes, this.#holder);
			}
		} catch (error) {
			this.#ctx.log.warn('lease', 'releasing the lease failed (it lapses on its own)', error);
		}
		this.#detach();
	}

	/** A simulated crash: no more renewals, the lease left to lapse. */
	halt(): void {
		this.#stopped = true;
		this.#task.halt();
		this.#detach();
	}

	#detach(): void {
		this.#ctx.redis.off('ready', this.#onRedisReady);
	}

	#newHolder(): string {
		return `${this.nodeId}.${randomBytes(4).toString('hex')}`;
	}

	async #acquire() {
		await this.#ctx.redis.set(
			this.#ctx.keys.lease(this.#holder),
			'1',
			'PX',
			this.#ctx.timings.leaseTtlMs
		);
		this.#renewedAt = Date.now();
		await this.#ctx.redis.sadd(this.#ctx.keys.nodes, this.#holder);
	}

	async #tick() {
		if (this.#stopped) return;
		const refreshed = await this.#ctx.redis.set(
			this.#ctx.keys.lease(this.#holder),
			'1',
			'PX',
			this.#ctx.timings.leaseTtlMs,
			'XX'
		);
		if (refreshed === null) {
			this.holdReaping();
			await this.#reincarnate();
		} else {
			this.#renewedAt = Date.now();
		}
		await this.#events.ticked();
	}

	/**
	 * Our lease is gone: Redis restarted or was flushed, or we stalled past the TTL and another
	 * node reaped us. Either way: new incarnation, then every held connection registered again.
	 */
	async #reincarnate() {
		const old = this.#holder;
		this.#holder = this.#newHolder();
		this.#reincarnations++;
		this.#events.incarnated(old, this.#holder);
		await this.#acquire();
		this.#events.reacquired();
	}

	#onRedisReady = (): void => {
		if (!this.#redisWasReady) {
			this.#redisWasReady = true;
			return;
		}
		// Reconnected (maybe to an empty Redis): check the lease now rather than at the next tick.
		this.holdReaping();
		if (this.#started && !this.#stopped) void this.#task.runNow();
	};
}

import type { RedisClient } from '../presence/redis/client';
import TAKE from './rate-take.lua?raw';

/**
 * Fixed-window rate limits (docs/design.md §6: heartbeats, page reports, previews, messages).
 * On Redis the count is shared by every node (one Lua script: INCR then PEXPIRE on the first
 * hit, atomically; one key, so one slot on a Redis Cluster); without Redis it is per process.
 * A Redis failure lets the call through: a limiter must not take presence down with it.
 */

export interface RateLimit {
	/** Calls allowed per window. */
	limit: number;
	windowMs: number;
}

export interface RateLimiter {
	/** True when this call is within the limit for `key`. */
	take(key: string, rule: RateLimit): Promise<boolean>;
}

type RedisWithTake = RedisClient & { rateTake(key: string, windowMs: number): Promise<number> };

export class RedisRateLimiter implements RateLimiter {
	#redis: RedisWithTake;
	#prefix: string;
	#onError: (error: unknown) => void;

	/**
	 * One Redis or a Cluster: `defineCommand` scripts route by their one key's slot on both.
	 * `onError` hears of each failure the limiter lets through (metrics).
	 */
	constructor(redis: RedisClient, keyPrefix: string, onError: (error: unknown) => void = () => {}) {
		redis.defineCommand('rateTake', { numberOfKeys: 1, lua: TAKE });
		this.#redis = redis as RedisWithTake;
		this.#prefix = keyPrefix;
		this.#onError = onError;
	}

	async take(key: string, rule: RateLimit): Promise<boolean> {
		const window = Math.floor(Date.now() / rule.windowMs);
		try {
			const n = await this.#redis.rateTake(`${this.#prefix}rate:${key}:${window}`, rule.windowMs);
			return n <= rule.limit;
		} catch (error) {
			this.#onError(error);
			return true;
		}
	}
}

export class MemoryRateLimiter implements RateLimiter {
	#counts = new Map<string, { window: number; n: number }>();

	async take(key: string, rule: RateLimit): Promise<boolean> {
		const window = Math.floor(Date.now() / rule.windowMs);
		const entry = this.#counts.get(key);
		if (!entry || entry.window !== window) {
			if (this.#counts.size > 100_000) this.#counts.clear();
			this.#counts.set(key, { window, n: 1 });
			return rule.limit >= 1;
		}
		entry.n++;
		return entry.n <= rule.limit;
	}
}

/** Tabs a person may have open with every one heartbeating on schedule, retries included. */
export const HEARTBEAT_TABS = 8;

/** Every product limit counts calls in one-minute windows. */
const perMinute = (limit: number): RateLimit => ({ limit, windowMs: 60_000 });

/**
 * The product's limits, per person (or per client address for logins and logouts). Heartbeats
 * are counted per person (a count per connection id let anyone mint ids and limits), allowing
 * three times the configured rate for each of `HEARTBEAT_TABS` tabs, so no client on schedule
 * (with retries) is ever refused. Logins per address come from `LOGIN_LIMIT_PER_MINUTE`: a
 * team behind one office address signs in together at the start of a shift.
 */
export function limitsFor(options: { heartbeatIntervalMs: number; loginsPerMinute: number }) {
	return {
		heartbeat: perMinute(
			Math.max(60, Math.ceil((3 * HEARTBEAT_TABS * 60_000) / options.heartbeatIntervalMs))
		),
		page: perMinute(60),
		focus: perMinute(120),
		/** Clients call at most every TTL/3 while keys go down (6 s TTL: 30 a minute); room for two tabs. */
		typing: perMinute(60),
		/** Two reports per idle period per tab at most; room for tabs and quick back-and-forth. */
		idle: perMinute(60),
		/** A person's own choice from a menu: a few a minute is plenty, a loop is refused. */
		availability: perMinute(30),
		/** Every call counts; the spacing of stored previews is the procedure's own (contract.ts). */
		preview: perMinute(20),
		message: perMinute(60),
		markRead: perMinute(120),
		login: perMinute(options.loginsPerMinute),
		logout: perMinute(20),
		/** New visitors, per client address. */
		session: perMinute(30),
		/** A visitor resuming (and rotating) their token, per visitor. */
		resume: perMinute(30),
		/** A conversation begun (the visitor's first message, or an agent from the visitors list). */
		startConversation: perMinute(20)
	} satisfies Record<string, RateLimit>;
}

export type Limits = ReturnType<typeof limitsFor>;

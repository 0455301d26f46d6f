import type { EventBus } from '../events/types';
import type { RateLimiter } from '../limits/rate-limiter';
import type { ConsoleLogger } from '../log';
import type { Metrics } from '../metrics';
import type { RedisClient } from '../presence/redis/client';
import type { LastSeenStore, PresenceEngine, PresenceTimings } from '../presence/types';
import type { PreviewStore } from '../previews/store';

/**
 * What holds the node's shared state: who is online, the event bus, previews and rate limits.
 * One implementation per file, chosen once at start (as Kysely chooses a `Dialect`): Redis for
 * any number of nodes (`redis-backend.ts`), memory for a single process (`memory-backend.ts`).
 */
export interface Backend {
	presence: PresenceEngine;
	events: EventBus;
	previews: PreviewStore;
	limiter: RateLimiter;
	/** The command client, or null without Redis. */
	redis: RedisClient | null;
	/** The lease incarnation log lines carry (undefined without one). */
	incarnation(): string | undefined;
	/** One line for the start-up log: which backend, where. */
	describe: string;
	/** After presence stopped and the bus closed: the backend's own connections. */
	close(): void;
}

/** What every backend is built from. */
export interface BackendOptions {
	keyPrefix: string;
	timings: PresenceTimings;
	lastSeen: LastSeenStore;
	nodeId: string;
	metrics: Metrics;
	logger: ConsoleLogger;
}

import { RedisEventBus } from '../events/redis-bus';
import { RedisRateLimiter } from '../limits/rate-limiter';
import { RedisPresenceEngine } from '../presence';
import type { RedisClient } from '../presence/redis/client';
import { RedisPreviewStore } from '../previews/store';
import { connectWithin, type RedisClientOptions } from '../redis/clients';
import type { Backend, BackendOptions } from './backend';

/** A Redis (or a Cluster) and how to open a client on it. */
export interface RedisTarget {
	describe: string;
	create(options: RedisClientOptions): RedisClient;
}

/** How long a starting node waits for its Redis before it gives up. */
const REDIS_START_MS = 10_000;

/**
 * Any number of nodes share one Redis: two connections per node, one for commands and one
 * subscriber for the presence channels and the event bus.
 */
export async function redisBackend(
	target: RedisTarget,
	commandTimeoutMs: number,
	options: BackendOptions
): Promise<Backend> {
	const redis = target.create({ commandTimeoutMs, name: 'presence-commands' });
	const subscriber = target.create({ commandTimeoutMs, name: 'presence-bus', subscriber: true });
	try {
		await Promise.all([
			connectWithin(redis, REDIS_START_MS),
			connectWithin(subscriber, REDIS_START_MS)
		]);
	} catch (error) {
		// Both reconnect forever otherwise, in a process that failed to start.
		redis.disconnect();
		subscriber.disconnect();
		throw error;
	}
	const { keyPrefix, metrics, logger } = options;
	const presence = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix,
		timings: options.timings,
		lastSeen: options.lastSeen,
		nodeId: options.nodeId,
		logger
	});
	return {
		presence,
		events: new RedisEventBus({ publisher: redis, subscriber, keyPrefix, logger }),
		previews: new RedisPreviewStore(redis, keyPrefix, () => metrics.redisError('preview_get')),
		limiter: new RedisRateLimiter(redis, keyPrefix, () => metrics.redisError('rate_limit')),
		redis,
		incarnation: () => presence.holderId,
		describe: `redis backend at ${target.describe}`,
		close() {
			redis.disconnect();
			subscriber.disconnect();
		}
	};
}

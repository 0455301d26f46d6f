import { Redis } from 'ioredis';

/**
 * ioredis clients for presence. Commands time out quickly and are not queued while Redis is
 * away: presence answers "offline" instead of hanging a request (DESIGN section 2).
 */

export interface RedisClientOptions {
	commandTimeoutMs: number;
	/** Shown in CLIENT LIST, handy when counting a node's connections. */
	name: string;
}

export function createRedisClient(url: string, options: RedisClientOptions): Redis {
	const client = new Redis(url, {
		connectionName: options.name,
		commandTimeout: options.commandTimeoutMs,
		connectTimeout: Math.max(options.commandTimeoutMs, 2000),
		maxRetriesPerRequest: 1,
		enableOfflineQueue: true,
		// Reconnect forever, backing off to 2 s: nodes re-register their connections when Redis returns.
		retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
		lazyConnect: true
	});
	// ioredis emits 'error' on every failed reconnect; unhandled it would crash the process.
	client.on('error', () => {});
	return client;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function probeRedis(url: string, timeoutMs = 1000): Promise<boolean> {
	const client = new Redis(url, {
		lazyConnect: true,
		connectTimeout: timeoutMs,
		commandTimeout: timeoutMs,
		maxRetriesPerRequest: 0,
		retryStrategy: () => null,
		enableOfflineQueue: false
	});
	client.on('error', () => {});
	try {
		await client.connect();
		return (await client.ping()) === 'PONG';
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

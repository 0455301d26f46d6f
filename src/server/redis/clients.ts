import { Redis } from 'ioredis';

/**
 * ioredis clients for presence. Commands time out quickly and are not queued while Redis is
 * away: presence answers "offline" instead of hanging a request (DESIGN section 2).
 */

export interface RedisClientOptions {
	commandTimeoutMs: number;
	/** Shown in CLIENT LIST, handy when counting a node's connections. */
	name: string;
	/**
	 * The node's subscriber connection: its SUBSCRIBEs (also ioredis's own re-subscribe after a
	 * reconnect) must not time out or give up, or a channel is silently lost until the process
	 * restarts. Callers bound their own wait instead (see `subscribeWithin`).
	 */
	subscriber?: boolean;
}

export function createRedisClient(url: string, options: RedisClientOptions): Redis {
	const client = new Redis(url, {
		connectionName: options.name,
		commandTimeout: options.subscriber ? undefined : options.commandTimeoutMs,
		connectTimeout: Math.max(options.commandTimeoutMs, 2000),
		maxRetriesPerRequest: options.subscriber ? null : 1,
		enableOfflineQueue: true,
		// Reconnect forever, backing off to 2 s: nodes re-register their connections when Redis returns.
		retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
		lazyConnect: true
	});
	// ioredis emits 'error' on every failed reconnect; unhandled it would crash the process.
	client.on('error', () => {});
	return client;
}

/**
 * SUBSCRIBE, waiting at most `ms` for the answer: past that the caller goes on (a stream stays
 * open while Redis is away) and the subscription completes in the background when Redis answers.
 */
export async function subscribeWithin(
	subscriber: Redis,
	channel: string,
	ms: number
): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const subscribed = subscriber.subscribe(channel).then(
		() => true,
		() => false
	);
	const timedOut = new Promise<boolean>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
		timer.unref();
	});
	try {
		return await Promise.race([subscribed, timedOut]);
	} finally {
		clearTimeout(timer);
	}
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

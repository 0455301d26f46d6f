import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ClusterNode } from '../config';
import type { RedisClient } from '../presence/redis/client';

/**
 * ioredis clients for presence, on one Redis or on a Redis Cluster. Commands time out quickly
 * and are not retried while Redis is away: presence answers "offline" instead of hanging a
 * request (docs/design.md §2).
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

/** Reconnect forever, backing off to 2 s: nodes re-register their connections when Redis returns. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 2000);

/** What every connection gets, to one Redis or to each Cluster node (its `redisOptions`). */
function connectionOptions(options: RedisClientOptions): RedisOptions {
	return {
		connectionName: options.name,
		commandTimeout: options.subscriber ? undefined : options.commandTimeoutMs,
		connectTimeout: Math.max(options.commandTimeoutMs, 2000),
		maxRetriesPerRequest: options.subscriber ? null : 1
	};
}

/** ioredis emits 'error' on every failed reconnect; unhandled it would crash the process. */
function quiet<T extends RedisClient>(client: T): T {
	client.on('error', () => {});
	return client;
}

export function createRedisClient(url: string, options: RedisClientOptions): Redis {
	const client = quiet(
		new Redis(url, {
			...connectionOptions(options),
			enableOfflineQueue: true,
			retryStrategy: reconnectDelay,
			lazyConnect: true
		})
	);
	return options.subscriber ? client : coalesceWrites(client);
}

/**
 * The first command of a turn of the event loop is written at once; the commands that follow it
 * in the same turn leave together in one socket write at the end of the turn (`setImmediate`).
 * On loopback a write costs tens of µs of CPU in the kernel, and two hundred streams opening at
 * once send three commands each; a lone command (a visitor coming online) is not delayed at all.
 * Unlike ioredis' auto-pipelining, nothing waits for earlier replies.
 */
export function coalesceWrites(client: Redis): Redis {
	const send = client.sendCommand.bind(client);
	let busy = false;
	let corked: Redis['stream'] | null = null;
	const endTurn = () => {
		busy = false;
		const socket = corked;
		corked = null;
		socket?.uncork();
	};
	client.sendCommand = (command, stream) => {
		// Only the connection's own socket once ready: before that ioredis queues commands itself.
		if (stream === undefined && client.status === 'ready') {
			if (!busy) {
				busy = true;
				setImmediate(endTurn);
			} else if (corked === null && client.stream.writable) {
				corked = client.stream;
				corked.cork();
			}
		}
		return send(command, stream);
	};
	return client;
}

/**
 * The Cluster variant of `createRedisClient`, with the same per-connection options. A Cluster
 * reconnects as a whole (`clusterRetryStrategy`); its node connections do not retry on their own
 * (ioredis refreshes the slots instead). Its subscriber is a connection of its own to one node,
 * re-subscribing every channel when it moves.
 */
export function createRedisClusterClient(
	nodes: ClusterNode[],
	options: RedisClientOptions
): Cluster {
	const cluster = quiet(
		new Cluster(nodes, {
			redisOptions: connectionOptions(options),
			enableOfflineQueue: true,
			clusterRetryStrategy: reconnectDelay,
			lazyConnect: true
		})
	);
	if (!options.subscriber) cluster.on('+node', (node: Redis) => coalesceWrites(node));
	return cluster;
}

/** `promise`, or `fallback` once `ms` have passed (a timer that never keeps the process up). */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<T>((resolve) => {
		timer = setTimeout(() => resolve(fallback), ms);
		timer.unref();
	});
	try {
		return await Promise.race([promise, timedOut]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Connects a lazy client and resolves once it is ready, riding out failed attempts (a Redis
 * still starting, a loaded machine where one attempt outlasts `connectTimeout`: the client's
 * retry strategy tries again); rejects after `ms`, naming the last error.
 */
export async function connectWithin(client: RedisClient, ms: number): Promise<void> {
	if (client.status === 'ready') return;
	let lastError = 'no answer';
	const noted = (error: Error) => (lastError = error.message);
	client.on('error', noted);
	try {
		const ready = new Promise<boolean>((resolve) => client.once('ready', () => resolve(true)));
		// Its own rejection is the first failed attempt only; the client goes on trying.
		client.connect().catch((error: Error) => noted(error));
		if (!(await within(ready, ms, false))) {
			throw new Error(`Redis was not ready within ${ms} ms (${lastError})`);
		}
	} finally {
		client.off('error', noted);
	}
}

/**
 * SUBSCRIBE, waiting at most `ms` for the answer: past that the caller goes on (a stream stays
 * open while Redis is away) and the subscription completes in the background when Redis answers.
 */
export async function subscribeWithin(
	subscriber: RedisClient,
	channel: string,
	ms: number
): Promise<boolean> {
	const subscribed = subscriber.subscribe(channel).then(
		() => true,
		() => false
	);
	return within(subscribed, ms, false);
}

/**
 * True when `client` answers PING within `timeoutMs`. Bounded here because a Cluster that is
 * reconnecting queues commands with no timeout of its own.
 */
export async function pingRedis(client: RedisClient, timeoutMs: number): Promise<boolean> {
	const answered = client.ping().then(
		(reply) => reply === 'PONG',
		() => false
	);
	return within(answered, timeoutMs, false);
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function probeRedis(url: string, timeoutMs = 1000): Promise<boolean> {
	const client = quiet(
		new Redis(url, {
			lazyConnect: true,
			connectTimeout: timeoutMs,
			commandTimeout: timeoutMs,
			maxRetriesPerRequest: 0,
			retryStrategy: () => null,
			enableOfflineQueue: false
		})
	);
	try {
		await client.connect();
		return await pingRedis(client, timeoutMs);
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

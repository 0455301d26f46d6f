import type { Cluster, Redis } from 'ioredis';

/**
 * What the Redis backend (and the event bus) accept as a client: one Redis, or a Redis Cluster.
 * Every workspace script and batch read stays in one slot (keys share the `{ws}` hash tag), and
 * a plain PUBLISH reaches a Cluster subscriber on any shard through the cluster bus, so the
 * engine needs nothing more than the commands both clients share.
 */
export type RedisClient = Redis | Cluster;

/** The per-command timeout configured on a client (for a Cluster: its `redisOptions`). */
export function commandTimeoutOf(client: RedisClient): number | undefined {
	return client.isCluster
		? (client as Cluster).options.redisOptions?.commandTimeout
		: (client as Redis).options.commandTimeout;
}

/** A new client of the same kind, with the same nodes and options (e.g. a subscriber). */
export function duplicateClient(client: RedisClient): RedisClient {
	return client.isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
}

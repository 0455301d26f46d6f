import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithin, createRedisClient } from '../../src/server/redis/clients';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';

/**
 * A starting node waits for its Redis instead of giving up on the first attempt: on a loaded
 * machine one attempt can outlast the connect timeout, and a node that exits then is a node
 * that did not start (seen in the suite under load).
 */

let redis: RedisServerHandle;

beforeAll(async () => {
	redis = await startRedisServer();
});

afterAll(async () => {
	await redis?.cleanup();
});

describe('connectWithin', () => {
	it('rides out failed first attempts (a Redis still starting), then is ready', async () => {
		await redis.kill();
		const client = createRedisClient(redis.url, { commandTimeoutMs: 300, name: 'start-test' });
		try {
			const connecting = connectWithin(client, 15_000);
			// The first attempts are refused; the client's own retries find it once it is up.
			await new Promise((resolve) => setTimeout(resolve, 1000));
			await redis.restart();
			await connecting;
			expect(client.status).toBe('ready');
			expect(await client.ping()).toBe('PONG');
		} finally {
			client.disconnect();
		}
	});

	it('gives up after its time with the reason, when nothing answers', async () => {
		await redis.kill();
		const client = createRedisClient(redis.url, { commandTimeoutMs: 300, name: 'start-test' });
		try {
			await expect(connectWithin(client, 1500)).rejects.toThrow(
				/not ready within 1500 ms \(.*ECONNREFUSED/
			);
		} finally {
			client.disconnect();
		}
	});
});

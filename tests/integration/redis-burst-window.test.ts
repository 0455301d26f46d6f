import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BurstWindow } from '../../src/server/redis/burst-window';
import { connectWithin, createRedisClient } from '../../src/server/redis/clients';
import { TEST_REDIS_URL } from '../support/redis';

/**
 * A burst of commands, each in a turn of its own as the opens of a burst come, leaves in one
 * socket write after the first; a lone command is written at once. Replies stay each command's
 * own, in order.
 */

/** Counts the socket writes a client makes (a corked batch is one `_writev`). */
function countWrites(client: Redis): () => number {
	const socket = client.stream as unknown as {
		_write: (...args: unknown[]) => unknown;
		_writev: (...args: unknown[]) => unknown;
	};
	let writes = 0;
	for (const method of ['_write', '_writev'] as const) {
		const original = socket[method].bind(socket);
		socket[method] = (...args: unknown[]) => (writes++, original(...args));
	}
	return () => writes;
}

async function connected(): Promise<Redis & AsyncDisposable> {
	const client = createRedisClient(TEST_REDIS_URL, { commandTimeoutMs: 2000, name: 'burst-test' });
	await connectWithin(client, 5000);
	return Object.assign(client, { [Symbol.asyncDispose]: async () => void client.disconnect() });
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('BurstWindow', () => {
	it('sends the first command at once and the rest of a burst together, each its own reply', async () => {
		await using client = await connected();
		const key = `test:burst:${randomUUID()}`;
		const writes = countWrites(client);
		const window = new BurstWindow(client, 200);

		const first = window.send(() => client.incr(key));
		// Written in the same turn: a lone command waits for nothing.
		expect(writes()).toBe(1);
		const rest: Promise<number>[] = [];
		for (let i = 0; i < 5; i++) {
			await nextTurn();
			rest.push(window.send(() => client.incr(key)));
		}
		expect(await first).toBe(1);
		expect(writes()).toBe(1);
		// In order, as sent, and in one more write.
		expect(await Promise.all(rest)).toEqual([2, 3, 4, 5, 6]);
		expect(writes()).toBe(2);
		await client.del(key);
	});

	it('after a quiet spell, the next command is written at once again', async () => {
		await using client = await connected();
		const writes = countWrites(client);
		const window = new BurstWindow(client, 50);
		await window.send(() => client.ping());
		// The window ends with nothing waiting, and closes.
		await new Promise((resolve) => setTimeout(resolve, 120));
		const before = writes();
		const lone = window.send(() => client.ping());
		expect(writes()).toBe(before + 1);
		expect(await lone).toBe('PONG');
	});

	it('a failing command fails alone', async () => {
		await using client = await connected();
		const key = `test:burst:${randomUUID()}`;
		const window = new BurstWindow(client, 100);
		await client.set(key, 'not a number');
		const first = window.send(() => client.ping());
		await nextTurn();
		const bad = window.send(() => client.incr(key));
		await nextTurn();
		const good = window.send(() => client.ping());
		await expect(bad).rejects.toThrow(/not an integer/);
		expect(await Promise.all([first, good])).toEqual(['PONG', 'PONG']);
		await client.del(key);
	});
});

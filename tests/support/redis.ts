import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** A Redis key prefix of its own for one test file, deleted afterwards. */

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testKeyPrefix(): string {
	return `test:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS, so a shared Redis stays responsive). */
export async function dropKeyPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
	const redis = new Redis(url);
	try {
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			if (keys.length) await redis.unlink(...keys);
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
}

import { afterAll } from 'vitest';
import { MemoryPresenceEngine } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { testKeyPrefix } from '../../support/redis';
import { describeAvailabilityContract } from './availability-contract';
import { redisEngineUnderTest } from './contract';
import { dropKeyPrefix, RecordingStore, redisClient, REDIS_URL } from './helpers';

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeAvailabilityContract('redis', async (timings) => {
	const redis = redisClient();
	const subscriber = redisClient();
	await Promise.all([redis.connect(), subscriber.connect()]);
	return redisEngineUnderTest({
		redis,
		subscriber,
		keyPrefix: prefix,
		timings,
		close: () => {
			redis.disconnect();
			subscriber.disconnect();
		}
	});
});

describeAvailabilityContract('memory', async (timings) => {
	const lastSeen = new RecordingStore();
	const engine = new MemoryPresenceEngine({ timings, lastSeen, logger: silentLogger });
	await engine.start();
	return { engine, lastSeen, close: () => engine.stop() };
});

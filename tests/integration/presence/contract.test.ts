import { afterAll } from 'vitest';
import { MemoryPresenceEngine } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { testKeyPrefix } from '../../support/redis';
import { describeContract, redisEngineUnderTest } from './contract';
import { dropKeyPrefix, RecordingStore, redisClient, REDIS_URL } from './helpers';

/** The same contract suite against both backends (docs/design.md §7: the embedded default passes it too). */

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeContract('redis', async (timings) => {
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

describeContract('memory', async (timings) => {
	const lastSeen = new RecordingStore();
	const engine = new MemoryPresenceEngine({ timings, lastSeen, logger: silentLogger });
	await engine.start();
	return {
		engine,
		lastSeen,
		async close() {
			await engine.stop();
		}
	};
});

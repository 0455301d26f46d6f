import { afterAll } from 'vitest';
import { testKeyPrefix } from '../../support/redis';
import { describeContract, memoryEngineUnderTest, redisOnTestServer } from './contract';
import { dropKeyPrefix, REDIS_URL } from './helpers';

/** The same contract suite against both backends (docs/design.md §7: the embedded default passes it too). */

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeContract('redis', redisOnTestServer(prefix));
describeContract('memory', memoryEngineUnderTest);

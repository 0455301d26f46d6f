import { afterAll } from 'vitest';
import { testKeyPrefix } from '../../support/redis';
import { describeAvailabilityContract } from './availability-contract';
import { memoryEngineUnderTest, redisOnTestServer } from './contract';
import { dropKeyPrefix, REDIS_URL } from './helpers';

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeAvailabilityContract('redis', redisOnTestServer(prefix));
describeAvailabilityContract('memory', memoryEngineUnderTest);

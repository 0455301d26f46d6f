import { afterAll } from 'vitest';
import { testKeyPrefix } from '../../support/redis';
import { memoryEngineUnderTest, redisOnTestServer } from './contract';
import { dropKeyPrefix, REDIS_URL } from './helpers';
import { describeTypingContract } from './typing-contract';

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeTypingContract('redis', redisOnTestServer(prefix));
describeTypingContract('memory', memoryEngineUnderTest);

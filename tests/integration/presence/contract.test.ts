import { afterAll } from 'vitest';
import { testKeyPrefix } from '../../support/redis';
import { describeAvailabilityContract } from './availability-contract';
import { describeContract } from './contract';
import { redisOnTestServer } from './engine-under-test';
import { dropKeyPrefix, REDIS_URL } from './helpers';
import { describeTypingContract } from './typing-contract';

/**
 * The contract suites against the Redis backend on one Redis (cluster.test.ts: on a Redis
 * Cluster; tests/unit/presence/memory-contract.test.ts: the embedded default, docs/design.md §7).
 */

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeContract('redis', redisOnTestServer(prefix));
describeTypingContract('redis', redisOnTestServer(prefix));
describeAvailabilityContract('redis', redisOnTestServer(prefix));

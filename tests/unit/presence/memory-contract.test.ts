import { describeAvailabilityContract } from '../../integration/presence/availability-contract';
import { describeContract } from '../../integration/presence/contract';
import { memoryEngineUnderTest } from '../../integration/presence/engine-under-test';
import { describeTypingContract } from '../../integration/presence/typing-contract';

/**
 * The contract suites against the single-process backend (the embedded default,
 * docs/design.md §7): no Redis, no Postgres, and a fake clock, so its graces, sweeps and
 * deadlines pass at once. The same suites run on Redis in tests/integration/presence.
 */

describeContract('memory', memoryEngineUnderTest);
describeTypingContract('memory', memoryEngineUnderTest);
describeAvailabilityContract('memory', memoryEngineUnderTest);

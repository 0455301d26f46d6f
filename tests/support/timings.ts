import type { PresenceTimings } from '../../src/server/presence';

/**
 * The one set of presence timings tests start from: short enough to wait on, long enough for two
 * loaded cores. A test overrides only the timing it is about (`{ ...TEST_TIMINGS, graceMs: 0 }`).
 */
export const TEST_TIMINGS = {
	graceMs: 200,
	/** Clients heartbeat every `heartbeatIntervalMs`; engines only know the timeout. */
	heartbeatIntervalMs: 200,
	/** Fifteen missed heartbeats: a loaded machine delays some; expiry tests set their own. */
	heartbeatTimeoutMs: 3000,
	/** Renewed every third of it: a node must not lose it to a loop held a second by loaded cores. */
	leaseTtlMs: 2000,
	sweepIntervalMs: 50
} as const;

/** For engines built in-process. */
export const ENGINE_TIMINGS: PresenceTimings = {
	graceMs: TEST_TIMINGS.graceMs,
	heartbeatTimeoutMs: TEST_TIMINGS.heartbeatTimeoutMs,
	leaseTtlMs: TEST_TIMINGS.leaseTtlMs,
	sweepIntervalMs: TEST_TIMINGS.sweepIntervalMs
};

/** The same timings as the environment of an app node (services in-process, or `node build`). */
export const TIMINGS_ENV = {
	PRESENCE_GRACE_MS: String(TEST_TIMINGS.graceMs),
	PRESENCE_HEARTBEAT_INTERVAL_MS: String(TEST_TIMINGS.heartbeatIntervalMs),
	PRESENCE_HEARTBEAT_TIMEOUT_MS: String(TEST_TIMINGS.heartbeatTimeoutMs),
	PRESENCE_LEASE_TTL_MS: String(TEST_TIMINGS.leaseTtlMs),
	PRESENCE_SWEEP_INTERVAL_MS: String(TEST_TIMINGS.sweepIntervalMs)
};

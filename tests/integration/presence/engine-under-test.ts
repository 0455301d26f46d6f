import { afterEach } from 'vitest';
import type { Command } from 'ioredis';
import {
	MemoryPresenceEngine,
	RedisPresenceEngine,
	type PresenceEngine,
	type PresenceTimings
} from '../../../src/server/presence';
import type { RedisClient } from '../../../src/server/presence/redis/client';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { fakeClock, realClock, type TestClock } from '../../support/clock';
import { ENGINE_TIMINGS } from '../../support/timings';
import { RecordingStore, redisClient } from './helpers';

/**
 * What the contract suites (presence, typing, availability) run on: an engine under test that
 * declares what differs per backend (its clock, what `stop()` does, whether round trips can be
 * counted) instead of the suites sniffing which backend they got, and a harness that opens
 * engines and listeners for one test and closes them after it.
 */

export interface EngineUnderTest {
	engine: PresenceEngine;
	lastSeen: RecordingStore;
	/**
	 * Counts the Redis commands sent while `run` executes (Redis backend only; the memory
	 * backend has no round trips to count).
	 */
	countCommands?: <T>(run: () => Promise<T>) => Promise<{ result: T; commands: string[] }>;
	/**
	 * What `stop()` does to the node's people in their grace: `'offline'` at once (one process:
	 * nobody else would ever end the grace), or `'grace'` (another node's sweep ends it).
	 */
	onStop: 'offline' | 'grace';
	/** The time the engine lives on: the real one for Redis (its scripts read TIME). */
	clock: TestClock;
	close(): Promise<void>;
}

export type MakeEngine = (timings: PresenceTimings) => Promise<EngineUnderTest>;

/** Sent by the sweeper and lease timers, which may tick during a counted call. */
const BACKGROUND_COMMANDS = new Set([
	'evalsha',
	'eval',
	'smembers',
	'exists',
	'set',
	'sadd',
	'srem'
]);

/**
 * A started Redis engine on these clients (single node or Cluster), as the suite wants it:
 * every command of a client goes through its `sendCommand` (a Cluster's before it is routed to
 * a shard), so that is where round trips are counted.
 */
export async function redisEngineUnderTest(options: {
	redis: RedisClient;
	subscriber: RedisClient;
	keyPrefix: string;
	timings: PresenceTimings;
	close: () => void;
}): Promise<EngineUnderTest> {
	const { redis, subscriber, keyPrefix, timings } = options;
	const lastSeen = new RecordingStore();
	const engine = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix,
		timings,
		lastSeen,
		logger: silentLogger
	});
	await engine.start();
	return {
		engine,
		lastSeen,
		onStop: 'grace',
		clock: realClock,
		async countCommands(run) {
			const commands: string[] = [];
			const original = redis.sendCommand.bind(redis);
			const spy = (command: Command, ...rest: unknown[]) => {
				commands.push(command.name);
				return (original as (...args: unknown[]) => unknown)(command, ...rest);
			};
			(redis as unknown as { sendCommand: typeof spy }).sendCommand = spy;
			try {
				const result = await run();
				return { result, commands: commands.filter((c) => !BACKGROUND_COMMANDS.has(c)) };
			} finally {
				(redis as unknown as { sendCommand: typeof original }).sendCommand = original;
			}
		},
		async close() {
			await engine.stop();
			options.close();
		}
	};
}

/** A Redis engine on two fresh clients of the test Redis, its keys under `keyPrefix`. */
export function redisOnTestServer(keyPrefix: string): MakeEngine {
	return async (timings) => {
		const redis = redisClient();
		const subscriber = redisClient();
		await Promise.all([redis.connect(), subscriber.connect()]);
		return redisEngineUnderTest({
			redis,
			subscriber,
			keyPrefix,
			timings,
			close: () => {
				redis.disconnect();
				subscriber.disconnect();
			}
		});
	};
}

/**
 * The single-process backend: no Redis, no Postgres, and nothing but `Date` and timers for a
 * clock, so it runs on a fake one and its graces and sweeps pass at once.
 */
export const memoryEngineUnderTest: MakeEngine = async (timings) => {
	const clock = fakeClock();
	const lastSeen = new RecordingStore();
	const engine = new MemoryPresenceEngine({ timings, lastSeen, logger: silentLogger });
	await engine.start();
	return {
		engine,
		lastSeen,
		onStop: 'offline',
		clock,
		async close() {
			await engine.stop();
			clock[Symbol.dispose]();
		}
	};
};

/**
 * The tests' timings, with a heartbeat timeout long enough that no contract test needs to
 * heartbeat unless it is about heartbeats.
 */
export function contractTimings(overrides: Partial<PresenceTimings> = {}): PresenceTimings {
	return { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 5000, ...overrides };
}

/**
 * Opens engines for one test and closes them, with their listeners, after it. `sleep` and
 * `waitFor` run on the clock of the engine opened last (all engines of one backend share it).
 */
export function engineHarness(makeEngine: MakeEngine) {
	const open: EngineUnderTest[] = [];
	const aborts: AbortController[] = [];
	let clock: TestClock = realClock;

	afterEach(async () => {
		for (const controller of aborts.splice(0)) controller.abort();
		for (const under of open.splice(0).reverse()) await under.close();
		clock = realClock;
	});

	return {
		async start(timings: Partial<PresenceTimings> = {}): Promise<EngineUnderTest> {
			const under = await makeEngine(contractTimings(timings));
			open.push(under);
			clock = under.clock;
			return under;
		},
		/** A signal aborted after the test. */
		signal(): AbortSignal {
			const controller = new AbortController();
			aborts.push(controller);
			return controller.signal;
		},
		sleep: (ms: number) => clock.sleep(ms),
		waitFor: <T>(check: () => T | Promise<T>, what: string, timeoutMs?: number) =>
			clock.until(check, what, timeoutMs)
	};
}

import { afterAll } from 'vitest';
import type { Command } from 'ioredis';
import { MemoryPresenceEngine, RedisPresenceEngine } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { testKeyPrefix } from '../../support/redis';
import { describeContract } from './contract';
import { dropKeyPrefix, RecordingStore, redisClient, REDIS_URL } from './helpers';

/** The same contract suite against both backends (DESIGN.md section 7: the embedded default passes it too). */

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describeContract('redis', async (timings) => {
	const redis = redisClient();
	const subscriber = redisClient();
	await Promise.all([redis.connect(), subscriber.connect()]);
	const lastSeen = new RecordingStore();
	const engine = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix: prefix,
		timings,
		lastSeen,
		logger: silentLogger
	});
	await engine.start();
	return {
		engine,
		lastSeen,
		async countCommands(run) {
			// Every command the engine's client sends goes through sendCommand: count them.
			const commands: string[] = [];
			const original = redis.sendCommand.bind(redis);
			const spy = (command: Command, ...rest: unknown[]) => {
				commands.push(command.name);
				return (original as (...args: unknown[]) => unknown)(command, ...rest);
			};
			(redis as unknown as { sendCommand: typeof spy }).sendCommand = spy;
			try {
				const result = await run();
				return { result, commands: commands.filter((c) => !BACKGROUND.has(c)) };
			} finally {
				(redis as unknown as { sendCommand: typeof original }).sendCommand = original;
			}
		},
		async close() {
			await engine.stop();
			redis.disconnect();
			subscriber.disconnect();
		}
	};
});

/** Sent by the sweeper and lease timers, which may tick during a counted call. */
const BACKGROUND = new Set(['evalsha', 'eval', 'smembers', 'exists', 'set', 'sadd', 'srem']);

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

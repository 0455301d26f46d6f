import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../src/server/config';
import { createContextInner, type ContextInnerOptions } from '../../src/server/context';
import { appRouter } from '../../src/server/routers/_app';
import { startServices, type Services } from '../../src/server/services';
import { createCallerFactory } from '../../src/server/trpc';
import { createTestDatabase, type TestDatabase } from './database';
import { dropKeyPrefix, TEST_REDIS_URL, testKeyPrefix } from './redis';
import { TIMINGS_ENV } from './timings';

/**
 * One setup for every integration test file: its own Postgres database and Redis key prefix,
 * both dropped afterwards, so files run in parallel without seeing each other.
 */

/** The environment a test node runs with: its own database and prefix, fast presence timings. */
export function testEnv(
	database: TestDatabase,
	prefix: string,
	extra: Record<string, string> = {}
) {
	return {
		DATABASE_URL: database.url,
		REDIS_URL: TEST_REDIS_URL,
		REDIS_KEY_PREFIX: prefix,
		SESSION_SECRET: 'test-secret-test-secret-test-secret-0000',
		...TIMINGS_ENV,
		...extra
	};
}

export interface TestServices {
	services: Services;
	config: Config;
	database: TestDatabase;
	prefix: string;
	/** A tRPC caller as someone holding these credentials (no HTTP). */
	caller(credentials?: Omit<ContextInnerOptions, 'services'>, signal?: AbortSignal): AppCaller;
}

const createCaller = createCallerFactory(appRouter);
export type AppCaller = ReturnType<typeof createCaller>;

/**
 * Registers beforeAll/afterAll for a test file and returns a handle filled in by beforeAll.
 * `extra` overrides environment variables (e.g. `{ SEED_DEMO: 'true' }`).
 */
export function useTestServices(extra: Record<string, string> = {}): TestServices {
	const handle = {} as TestServices;
	beforeAll(async () => {
		handle.database = await createTestDatabase();
		handle.prefix = testKeyPrefix();
		handle.config = loadConfig(testEnv(handle.database, handle.prefix, extra));
		handle.services = await startServices(handle.config, { logger: quietLogger });
		handle.caller = (credentials = {}, signal) =>
			createCaller(createContextInner({ services: handle.services, ...credentials }), { signal });
	});
	afterAll(async () => {
		await handle.services?.close();
		await handle.database?.drop();
		if (handle.prefix) await dropKeyPrefix(handle.prefix);
	});
	return handle;
}

export const quietLogger = {
	info: () => {},
	warn: (...args: unknown[]) => console.warn(...args),
	error: (...args: unknown[]) => console.error(...args)
};

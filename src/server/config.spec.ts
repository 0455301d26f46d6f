import { describe, expect, it } from 'vitest';
import { ConfigError, DEMO_SESSION_SECRET, loadConfig } from './config';

describe('configuration', () => {
	it('has documented defaults with nothing set', () => {
		const config = loadConfig({});
		expect(config.PORT).toBe(3000);
		expect(config.PRESENCE_GRACE_MS).toBe(3000);
		expect(config.PRESENCE_HEARTBEAT_TIMEOUT_MS).toBe(60_000);
		expect(config.PRESENCE_LEASE_TTL_MS).toBe(5000);
		expect(config.PRESENCE_SWEEP_INTERVAL_MS).toBe(1000);
		expect(config.SESSION_SECRET).toBe(DEMO_SESSION_SECRET);
		expect(config.DATABASE_URL).toBeUndefined();
	});

	it('allows a grace of 0', () => {
		expect(loadConfig({ PRESENCE_GRACE_MS: '0' }).PRESENCE_GRACE_MS).toBe(0);
	});

	it('names the variable of a bad value', () => {
		expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
		expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
		expect(() => loadConfig({ SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET/);
		expect(() => loadConfig({ PRESENCE_GRACE_MS: '-1' })).toThrow(ConfigError);
	});

	it('refuses a heartbeat interval that is not below the timeout', () => {
		expect(() =>
			loadConfig({ PRESENCE_HEARTBEAT_INTERVAL_MS: '5000', PRESENCE_HEARTBEAT_TIMEOUT_MS: '4000' })
		).toThrow(/PRESENCE_HEARTBEAT_INTERVAL_MS/);
	});
});

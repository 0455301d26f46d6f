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

	it('reads REDIS_CLUSTER_NODES as seed nodes, empty as unset, and names it when bad', () => {
		expect(
			loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002' })
				.REDIS_CLUSTER_NODES
		).toEqual([
			{ host: '10.0.0.1', port: 7000 },
			{ host: 'redis-b.internal', port: 7001 },
			{ host: '::1', port: 7002 }
		]);
		expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toBeUndefined();
		expect(loadConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
		for (const bad of ['redis://10.0.0.1:7000', '10.0.0.1', '10.0.0.1:0', 'a:7000,b:99999', ',']) {
			expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(
				/REDIS_CLUSTER_NODES: expected/
			);
		}
	});

	it('refuses a heartbeat interval that is not below the timeout', () => {
		expect(() =>
			loadConfig({ PRESENCE_HEARTBEAT_INTERVAL_MS: '5000', PRESENCE_HEARTBEAT_TIMEOUT_MS: '4000' })
		).toThrow(/PRESENCE_HEARTBEAT_INTERVAL_MS/);
	});
});

import { describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../../tests/support/prometheus';
import { Metrics, metricsAuthorized, sqlOperation } from './metrics';
import type { PresenceEngine, PresenceStats } from './presence/types';

const stats: PresenceStats = {
	local_connections: 3,
	local_people: 2,
	sweep_lag_ms: 250,
	errors_total: 4,
	redis_errors: { sweep: 3 },
	changes_published_total: 7,
	changes_received_total: 9,
	lease_refresh_age_ms: 1500,
	reincarnations_total: 1
};
const engine = { stats: async () => stats } as unknown as PresenceEngine;

async function scrape(metrics: Metrics) {
	const { text, contentType } = await metrics.render();
	expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
	return parsePrometheus(text);
}

describe('Metrics', () => {
	it('exposes what callers report, with zero series for every fixed label from the start', async () => {
		const metrics = new Metrics({ rateLimits: ['heartbeat', 'preview'] });
		metrics.observeEngine(engine);
		let families = await scrape(metrics);
		expect(sampleValue(families, 'presence_streams_closed_total', { reason: 'cap' })).toBe(0);
		expect(sampleValue(families, 'presence_rate_limit_refusals_total', { limit: 'preview' })).toBe(
			0
		);
		expect(sampleValue(families, 'presence_stream_events_written_total', { type: 'ready' })).toBe(
			0
		);

		const opened = metrics.streamOpened();
		metrics.streamOpened();
		metrics.streamClosed('overflow', opened - 2000);
		metrics.streamRefused('unauthorized');
		metrics.eventWritten('presence', 40);
		metrics.eventWritten('message', 2);
		metrics.fanout(0.012, 40);
		metrics.eventPublished();
		metrics.redisError('rate_limit');
		metrics.redisError('sweep');
		metrics.postgresError('update users');
		metrics.rateLimitRefused('preview');
		families = await scrape(metrics);

		expect(sampleValue(families, 'presence_streams_open')).toBe(1);
		expect(metrics.streamsOpen).toBe(1);
		expect(sampleValue(families, 'presence_streams_opened_total')).toBe(2);
		expect(sampleValue(families, 'presence_streams_closed_total', { reason: 'overflow' })).toBe(1);
		expect(metrics.streamsOverflowed).toBe(1);
		expect(
			sampleValue(families, 'presence_streams_refused_total', { reason: 'unauthorized' })
		).toBe(1);
		expect(
			sampleValue(families, 'presence_stream_events_written_total', { type: 'presence' })
		).toBe(40);
		expect(metrics.eventsDelivered).toBe(42);
		expect(sampleValue(families, 'presence_fanout_duration_seconds_count')).toBe(1);
		expect(sampleValue(families, 'presence_fanout_duration_seconds_sum')).toBeCloseTo(0.012);
		expect(sampleValue(families, 'presence_fanout_streams_bucket', { le: '50' })).toBe(1);
		expect(sampleValue(families, 'presence_fanout_streams_bucket', { le: '10' })).toBe(0);
		// Opened "2 s ago": lands above the 1 s bucket.
		expect(sampleValue(families, 'presence_stream_open_duration_seconds_bucket', { le: '1' })).toBe(
			0
		);
		expect(sampleValue(families, 'presence_stream_open_duration_seconds_count')).toBe(1);
		expect(sampleValue(families, 'presence_events_published_total')).toBe(1);
		// The engine's own sweep failures and the router's add up under one operation label.
		expect(sampleValue(families, 'presence_redis_errors_total', { operation: 'sweep' })).toBe(4);
		expect(sampleValue(families, 'presence_redis_errors_total', { operation: 'rate_limit' })).toBe(
			1
		);
		expect(
			sampleValue(families, 'presence_postgres_errors_total', { operation: 'update users' })
		).toBe(1);
		expect(sampleValue(families, 'presence_rate_limit_refusals_total', { limit: 'preview' })).toBe(
			1
		);

		expect(sampleValue(families, 'presence_engine_local_connections')).toBe(3);
		expect(sampleValue(families, 'presence_engine_sweep_lag_seconds')).toBe(0.25);
		expect(sampleValue(families, 'presence_lease_refresh_age_seconds')).toBe(1.5);
		expect(sampleValue(families, 'presence_lease_reincarnations_total')).toBe(1);
		expect(sampleValue(families, 'presence_changes_published_total')).toBe(7);
		expect(sampleValue(families, 'presence_changes_received_total')).toBe(9);
		expect(families.get('presence_fanout_duration_seconds')?.type).toBe('histogram');
		expect(families.get('presence_streams_closed_total')?.type).toBe('counter');
	});

	it('keeps each instance in its own registry, each with the process metrics', async () => {
		const a = new Metrics();
		const b = new Metrics();
		a.streamOpened();
		const [fa, fb] = await Promise.all([scrape(a), scrape(b)]);
		expect(sampleValue(fa, 'presence_streams_open')).toBe(1);
		expect(sampleValue(fb, 'presence_streams_open')).toBe(0);
		for (const families of [fa, fb]) {
			for (const name of [
				'process_cpu_seconds_total',
				'process_resident_memory_bytes',
				'nodejs_eventloop_lag_p99_seconds',
				'nodejs_heap_size_used_bytes',
				'nodejs_active_handles_total',
				'nodejs_gc_duration_seconds',
				'presence_event_loop_utilization_ratio'
			]) {
				expect(families.has(name), name).toBe(true);
			}
		}
		const elu = sampleValue(fa, 'presence_event_loop_utilization_ratio');
		expect(elu).toBeGreaterThanOrEqual(0);
		expect(elu).toBeLessThanOrEqual(1);
	});
});

describe('metricsAuthorized', () => {
	it('is open without a token, and wants exactly `Bearer <token>` with one', () => {
		const token = 'a-metrics-token-0123456789';
		expect(metricsAuthorized(null, undefined)).toBe(true);
		expect(metricsAuthorized('Bearer whatever', undefined)).toBe(true);
		expect(metricsAuthorized(null, token)).toBe(false);
		expect(metricsAuthorized('', token)).toBe(false);
		expect(metricsAuthorized(token, token)).toBe(false);
		expect(metricsAuthorized(`Basic ${token}`, token)).toBe(false);
		expect(metricsAuthorized(`Bearer ${token}x`, token)).toBe(false);
		expect(metricsAuthorized(`Bearer ${token.slice(0, -1)}`, token)).toBe(false);
		expect(metricsAuthorized(`Bearer ${token}`, token)).toBe(true);
		expect(metricsAuthorized(`bearer  ${token}`, token)).toBe(true);
	});
});

describe('sqlOperation', () => {
	it('names statement and table, never values', () => {
		expect(sqlOperation('select "id" from "users" where "email" = $1')).toBe('select users');
		expect(sqlOperation('insert into "messages" ("body") values ($1)')).toBe('insert messages');
		expect(
			sqlOperation(
				'\n\t\t\t\tupdate users set last_seen_at = greatest(users.last_seen_at, seen.at)'
			)
		).toBe('update users');
		expect(sqlOperation('delete from "sessions" where id = $1')).toBe('delete sessions');
		expect(sqlOperation('select 1')).toBe('select');
	});
});

describe('parsePrometheus', () => {
	it('reads labels with escapes, histograms into their family, and refuses garbage', () => {
		const families = parsePrometheus(
			[
				'# HELP x_total Things.',
				'# TYPE x_total counter',
				'x_total{a="q\\"uote",b="back\\\\slash"} 3',
				'# TYPE h histogram',
				'h_bucket{le="+Inf"} 2',
				'h_sum 0.5',
				'h_count 2',
				''
			].join('\n')
		);
		expect(sampleValue(families, 'x_total', { a: 'q"uote', b: 'back\\slash' })).toBe(3);
		expect(families.get('h')?.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_sum', 'h_count']);
		expect(() => parsePrometheus('x{a="1" 3')).toThrow(/line 1/);
		expect(() => parsePrometheus('x one')).toThrow(/bad value/);
	});
});

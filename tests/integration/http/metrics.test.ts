import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/lib/contract';
import { createClient, loginAgent, type PresenceClient } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream, type ClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestAgent, type TestWorkspace } from '../../support/fixtures';
import { parsePrometheus, sampleValue, type Family } from '../../support/prometheus';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';
import { waitFor } from '../../support/clock';

/**
 * Issue 14 over real HTTP: one app node from the build, /metrics scraped and parsed as
 * Prometheus text around a small scenario (streams opened, events fanned out, a preview
 * refused by a rate limit, a stream overflowed), METRICS_TOKEN, and the log fields.
 */

const TOKEN = 'metrics-test-token-0123456789';
const VISITORS = 10;
/** Visitors whose page reports pile megabytes up for a stalled agent (page limit: 60/min each). */
const CROWD = 60;
const PAGES_EACH = 50;
/** The default TTL: see the overflow scenario, where a loaded loop can outlast the tests' short one. */
const LEASE_TTL_MS = 5000;
const PNG = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64'
);

let database: TestDatabase;
let prefix: string;
let node: AppNode;
let ws: TestWorkspace;
/** The overflow scenario's own workspace: its events never reach the first scenario's agent. */
let crowd: TestWorkspace;
let db: ReturnType<typeof createKysely>;
/** Scrapes taken by the scenario, for the hub test at the end. */
let before: Map<string, Family>;
let after: Map<string, Family>;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	const env = testEnv(database, prefix, {
		METRICS_TOKEN: TOKEN,
		LOG_LEVEL: 'debug',
		// A reading client never holds this much unsent; a stalled one passes it once the kernel's
		// loopback buffers (about 4 MB here) are full.
		STREAM_BUFFER_LIMIT_BYTES: '16384',
		// The stalled client sends no heartbeats: its connection must outlive the scenario.
		PRESENCE_HEARTBEAT_INTERVAL_MS: '25000',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '60000',
		// Thousands of 2.5 KB events on two loaded cores can hold the loop past the tests' 1 s
		// lease; a lapsed lease re-registers the node's connections, which is not this file's subject.
		PRESENCE_LEASE_TTL_MS: String(LEASE_TTL_MS)
	});
	node = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: VISITORS });
	crowd = await createWorkspace({ db, config: loadConfig(env) }, { agents: 2, visitors: CROWD });
});

afterAll(async () => {
	await node?.stop();
	await db?.destroy();
	await database?.drop();
	if (prefix) await dropKeyPrefix(prefix);
});

async function scrape(): Promise<Map<string, Family>> {
	const response = await fetch(`${node.url}/metrics`, {
		headers: { authorization: `Bearer ${TOKEN}` }
	});
	expect(response.status).toBe(200);
	expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
	return parsePrometheus(await response.text());
}

const value = (families: Map<string, Family>, name: string, labels?: Record<string, string>) =>
	sampleValue(families, name, labels);

async function subscribe(client: PresenceClient) {
	const stream = openClientStream(client);
	return { ...stream, ready: await stream.ready };
}

/** The product metrics of the issue; each must be declared (HELP and TYPE) from the start. */
const PRODUCT_METRICS: Record<string, Family['type']> = {
	presence_streams_open: 'gauge',
	presence_streams_opened_total: 'counter',
	presence_streams_closed_total: 'counter',
	presence_streams_refused_total: 'counter',
	presence_stream_events_written_total: 'counter',
	presence_fanout_duration_seconds: 'histogram',
	presence_fanout_streams: 'histogram',
	presence_stream_open_duration_seconds: 'histogram',
	presence_events_published_total: 'counter',
	presence_changes_published_total: 'counter',
	presence_changes_received_total: 'counter',
	presence_engine_sweep_lag_seconds: 'gauge',
	presence_lease_refresh_age_seconds: 'gauge',
	presence_lease_reincarnations_total: 'counter',
	presence_redis_errors_total: 'counter',
	presence_postgres_errors_total: 'counter',
	presence_rate_limit_refusals_total: 'counter',
	presence_engine_local_connections: 'gauge',
	presence_engine_local_people: 'gauge',
	presence_event_loop_utilization_ratio: 'gauge'
};

/** prom-client's default process metrics the README's alerts and figures rely on. */
const PROCESS_METRICS = [
	'process_cpu_seconds_total',
	'process_resident_memory_bytes',
	'process_open_fds',
	'nodejs_eventloop_lag_seconds',
	'nodejs_eventloop_lag_p99_seconds',
	'nodejs_heap_size_used_bytes',
	'nodejs_active_handles_total',
	'nodejs_gc_duration_seconds'
];

describe('/metrics on a running node', () => {
	it('declares the process metrics and every product metric, with help text', async () => {
		const families = await scrape();
		for (const name of PROCESS_METRICS) expect(families.has(name), name).toBe(true);
		for (const [name, type] of Object.entries(PRODUCT_METRICS)) {
			expect(families.get(name)?.type, name).toBe(type);
			expect(families.get(name)?.help.length, name).toBeGreaterThan(10);
		}
		// Fixed labels have a zero series at once: rates and alerts need a first sample.
		expect(value(families, 'presence_streams_closed_total', { reason: 'overflow' })).toBe(0);
		expect(value(families, 'presence_rate_limit_refusals_total', { limit: 'preview' })).toBe(0);
	});

	it('moves through a scenario: streams opened, changes fanned out, a rate limit refused', async () => {
		before = await scrape();
		const cookie = await loginAgent(node.trpcUrl, ws.agents[0]!.email, ws.agents[0]!.password);
		const agent = await subscribe(
			createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } })
		);
		const visitors: { stream: ClientStream; client: PresenceClient; connectionId: string }[] = [];
		// One after another: each online change reaches the agent on its own, within its bound.
		for (const v of ws.visitors) {
			const client = createClient({ url: node.trpcUrl, auth: { visitorToken: v.visitorToken } });
			const stream = openClientStream(client);
			const { connectionId } = await stream.ready;
			await agent.reader.presenceOf(v.id, (e) => e.isOnline);
			visitors.push({ stream, client, connectionId });
		}

		const open = await scrape();
		expect(value(open, 'presence_streams_open')).toBe(
			value(before, 'presence_streams_open') + VISITORS + 1
		);
		expect(value(open, 'presence_engine_local_connections')).toBe(VISITORS + 1);
		expect(value(open, 'presence_engine_local_people')).toBe(VISITORS + 1);
		// Every visitor's online change went out through Redis and came back for the agent's stream.
		for (const name of ['presence_changes_published_total', 'presence_changes_received_total']) {
			expect(value(open, name) - value(before, name), name).toBeGreaterThanOrEqual(VISITORS);
		}
		// A healthy node: lease renewed within its TTL, sweeps on time, no restarts.
		expect(value(open, 'presence_lease_refresh_age_seconds')).toBeLessThan(LEASE_TTL_MS / 1000);
		expect(value(open, 'presence_engine_sweep_lag_seconds')).toBeLessThan(1);
		expect(value(open, 'presence_lease_reincarnations_total')).toBe(0);

		// A preview is an event fanned out to the agents. Another of the same page so soon is not
		// stored (no event); calls past the preview limit are refused, counted once each.
		const first = visitors[0]!;
		const image = PNG.toString('base64');
		await first.client.presence.preview.mutate({ connectionId: first.connectionId, image });
		await agent.reader.next((e) => e.type === 'preview' && e.userId === ws.visitors[0]!.id);
		let refusal: unknown = null;
		for (let i = 0; i < 30 && !refusal; i++) {
			await first.client.presence.preview
				.mutate({ connectionId: first.connectionId, image })
				.catch((error: unknown) => (refusal = error));
		}
		expect(refusal).toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } });
		const limited = await scrape();
		expect(
			value(limited, 'presence_events_published_total') -
				value(before, 'presence_events_published_total')
		).toBe(1);
		expect(value(limited, 'presence_rate_limit_refusals_total', { limit: 'preview' })).toBe(1);
		expect(value(limited, 'presence_rate_limit_refusals_total', { limit: 'heartbeat' })).toBe(0);

		for (const visitor of visitors) visitor.stream.unsubscribe();
		agent.unsubscribe();
		await waitFor(
			async () =>
				value(await scrape(), 'presence_streams_open') === value(before, 'presence_streams_open')
		);
		after = await scrape();
		expect(value(after, 'presence_engine_local_connections')).toBe(0);
		expect(value(after, 'process_cpu_seconds_total')).toBeGreaterThan(
			value(before, 'process_cpu_seconds_total')
		);
		const lag = value(after, 'nodejs_eventloop_lag_p99_seconds');
		expect(lag).toBeGreaterThan(0);
		expect(lag).toBeLessThan(1);
		const busy = value(after, 'presence_event_loop_utilization_ratio');
		expect(busy).toBeGreaterThan(0);
		expect(busy).toBeLessThanOrEqual(1);
		// Nothing failed on the way.
		expect(samplesOf(after, 'presence_redis_errors_total')).toEqual([]);
		expect(samplesOf(after, 'presence_postgres_errors_total')).toEqual([]);
	});

	it('stream metrics reported by the hub moved: opened and closed by reason, events written by type, fan-out and open-duration histograms', () => {
		const moved = (name: string, labels?: Record<string, string>) =>
			value(after, name, labels) - value(before, name, labels);
		const figures = {
			opened: moved('presence_streams_opened_total'),
			closedByClient: moved('presence_streams_closed_total', { reason: 'client' }),
			presenceWritten: moved('presence_stream_events_written_total', { type: 'presence' }),
			readyWritten: moved('presence_stream_events_written_total', { type: 'ready' }),
			previewWritten: moved('presence_stream_events_written_total', { type: 'preview' }),
			fanouts: moved('presence_fanout_duration_seconds_count'),
			fanoutStreams: moved('presence_fanout_streams_sum'),
			streamsTimed: moved('presence_stream_open_duration_seconds_count')
		};
		// The agent's stream and every visitor's.
		expect(figures.opened).toBe(VISITORS + 1);
		expect(figures.readyWritten).toBe(VISITORS + 1);
		// Every client went away itself.
		expect(figures.closedByClient).toBe(VISITORS + 1);
		// At least each visitor's online change reached the agent.
		expect(figures.presenceWritten).toBeGreaterThanOrEqual(VISITORS);
		expect(figures.previewWritten).toBe(1);
		expect(figures.fanouts).toBeGreaterThanOrEqual(VISITORS);
		expect(figures.fanoutStreams).toBeGreaterThanOrEqual(VISITORS);
		// Only streams the hub timed (streamClosed with their open time) are observed.
		expect(figures.streamsTimed).toBe(VISITORS + 1);
	});
});

describe('a stream whose client stops reading', () => {
	it('is closed past STREAM_BUFFER_LIMIT_BYTES and counted as an overflow; a reading stream gets every event', async () => {
		const start = await scrape();
		const [stalledAgent, readingAgent] = crowd.agents as [TestAgent, TestAgent];
		const stalled = stalledStream(stalledAgent.sessionToken);
		const reading = await subscribe(
			createClient({
				url: node.trpcUrl,
				auth: { agentCookie: `${SESSION_COOKIE}=${readingAgent.sessionToken}` }
			})
		);
		const visitors = await Promise.all(
			crowd.visitors.map(async (v) => {
				const client = createClient({ url: node.trpcUrl, auth: { visitorToken: v.visitorToken } });
				const stream = openClientStream(client);
				return { id: v.id, client, stream, connectionId: (await stream.ready).connectionId };
			})
		);
		await waitFor(
			async () =>
				value(await scrape(), 'presence_streams_open') ===
				value(start, 'presence_streams_open') + CROWD + 2
		);

		// Long addresses and titles make each page event about 2.5 KB: 3,000 of them are over 7 MB
		// for each agent, more than loopback TCP absorbs for a client that reads nothing.
		const path = 'p'.repeat(1900);
		const long = 't'.repeat(260);
		await Promise.all(
			visitors.map(async (v, i) => {
				for (let page = 0; page < PAGES_EACH; page++) {
					await v.client.presence.page.mutate({
						connectionId: v.connectionId,
						url: `https://shop.test/${path}/${i}/${page}`,
						title: `${long} Visitor ${i}, page ${page}`
					});
				}
			})
		);
		for (const [i, v] of visitors.entries()) {
			await reading.reader.presenceOf(
				v.id,
				(e) => e.currentPage?.title === `${long} Visitor ${i}, page ${PAGES_EACH - 1}`
			);
		}
		const overflowCount = (families: Map<string, Family>) =>
			value(families, 'presence_streams_closed_total', { reason: 'overflow' });
		let overflowed = start;
		await waitFor(
			async () => {
				overflowed = await scrape();
				return overflowCount(overflowed) > overflowCount(start);
			},
			'the overflow in the scrape',
			30_000
		);
		expect(overflowCount(overflowed) - overflowCount(start)).toBe(1);
		// Only the stalled stream went: the reading agent and every visitor are still open.
		expect(value(overflowed, 'presence_streams_open')).toBe(
			value(start, 'presence_streams_open') + CROWD + 1
		);
		// Every page change reached the reading agent, in order. Other changes of a visitor (a
		// heartbeat late on loaded cores, say) repeat the page they are on: count pages, not events.
		const seen = new Map<string, number[]>();
		for (const e of reading.reader.events) {
			const page =
				e.type === 'presence'
					? /Visitor (\d+), page (\d+)$/.exec(e.currentPage?.title ?? '')
					: null;
			if (!page) continue;
			const pages = seen.get(page[1]!) ?? [];
			if (pages.at(-1) !== Number(page[2])) pages.push(Number(page[2]));
			seen.set(page[1]!, pages);
		}
		const everyPage = Array.from({ length: PAGES_EACH }, (_, page) => page);
		expect(seen.size).toBe(CROWD);
		for (const pages of seen.values()) expect(pages).toEqual(everyPage);

		stalled.destroy();
		reading.unsubscribe();
		for (const v of visitors) v.stream.unsubscribe();
	});
});

/** An agent's stream over TCP whose client sends the request, then never reads a byte. */
function stalledStream(sessionToken: string): Socket {
	const { hostname, port } = new URL(node.url);
	const socket = connect(Number(port), hostname);
	socket.write(
		`GET /api/trpc/presence.connect HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n` +
			`Cookie: ${SESSION_COOKIE}=${sessionToken}\r\n\r\n`
	);
	socket.pause();
	socket.on('error', () => {});
	return socket;
}

function samplesOf(scraped: Map<string, Family>, name: string) {
	return scraped.get(name)?.samples ?? [];
}

describe('METRICS_TOKEN', () => {
	it('refuses /metrics without the bearer token or with a wrong one; /healthz stays public', async () => {
		const bare = await fetch(`${node.url}/metrics`);
		expect(bare.status).toBe(401);
		expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
		expect(await bare.text()).not.toMatch(/presence_|process_/);
		for (const authorization of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
			const wrong = await fetch(`${node.url}/metrics`, { headers: { authorization } });
			expect(wrong.status, authorization).toBe(401);
		}
		const health = await fetch(`${node.url}/healthz`);
		expect(health.status).toBe(200);
		expect(await health.json()).toEqual({ postgres: 'ok', redis: 'ok' });
	});
});

describe('logs', () => {
	it('are JSON lines naming node and incarnation; HTTP lines carry the request id', async () => {
		const health = await fetch(`${node.url}/healthz`, {
			headers: { 'x-request-id': 'metrics-test-42' }
		});
		expect(health.headers.get('x-request-id')).toBe('metrics-test-42');
		const minted = (await fetch(`${node.url}/healthz`)).headers.get('x-request-id');
		expect(minted).toMatch(/^[0-9a-f-]{36}$/);

		const parsed = () =>
			node.output
				.join('')
				.split('\n')
				.filter((line) => line.startsWith('{'))
				.map((line) => JSON.parse(line) as Record<string, unknown>);
		await waitFor(() => parsed().some((r) => r.requestId === 'metrics-test-42'));
		const records = parsed();
		const request = records.find((r) => r.requestId === 'metrics-test-42');
		expect(request).toMatchObject({
			level: 'debug',
			msg: '[http] request',
			path: '/healthz',
			status: 200
		});
		expect(request?.incarnation).toMatch(new RegExp(`^${String(request?.node)}\\.[0-9a-f]{8}$`));
		for (const record of records) expect(record.node, JSON.stringify(record)).toBeTruthy();
		// From the engine's start on, every line names the incarnation.
		const started = records.findIndex((r) => String(r.msg).startsWith('[presence] redis backend'));
		expect(started).toBeGreaterThan(-1);
		for (const record of records.slice(started)) {
			expect(record.incarnation, JSON.stringify(record)).toBeTruthy();
		}
	});
});

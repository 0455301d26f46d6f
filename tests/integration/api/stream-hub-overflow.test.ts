import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/lib/contract';
import { createStreamHub, type StreamHub } from '../../../src/server/streams';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { parsePrometheus, sampleValue } from '../../support/prometheus';
import { useTestServices } from '../../support/services';
import { RawStream } from '../../support/sse-reader';
import { waitFor } from '../../support/clock';

/**
 * Backpressure that ends: a client that stops reading is closed once its socket holds more than
 * STREAM_BUFFER_LIMIT_BYTES, and nobody else is held up. Served over a Unix socket, whose kernel
 * buffers (about 180 KB) fill quickly; over loopback TCP the kernel would first absorb about 4 MB.
 */

const t = useTestServices({
	STREAM_BUFFER_LIMIT_BYTES: '16384',
	PRESENCE_HEARTBEAT_INTERVAL_MS: '25000',
	PRESENCE_HEARTBEAT_TIMEOUT_MS: '60000'
});
let hub: StreamHub;
let server: Server;
let dir: string;
let socketPath: string;
let ws: TestWorkspace;

beforeAll(async () => {
	hub = createStreamHub(t.services).start();
	server = createServer((req, res) => void hub.serve(req, res));
	dir = mkdtempSync(path.join(tmpdir(), 'hub-'));
	socketPath = path.join(dir, 'hub.sock');
	await new Promise<void>((resolve) => server.listen(socketPath, resolve));
	ws = await createWorkspace(t.services, { agents: 2, visitors: 1 });
});

afterAll(async () => {
	hub?.stop();
	server?.closeAllConnections();
	await new Promise((resolve) => server?.close(resolve));
	rmSync(dir, { recursive: true, force: true });
});

/** An agent's stream whose client sends the request and then never reads a byte. */
function stalledAgentStream(sessionToken: string): Socket {
	const socket = connect(socketPath);
	socket.write(
		`GET /api/trpc/presence.connect HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n` +
			`Cookie: ${SESSION_COOKIE}=${sessionToken}\r\n\r\n`
	);
	socket.pause();
	return socket;
}

/** A reading stream over the same Unix socket (fetch cannot dial one). */
function readingStream(sessionToken: string): RawStream {
	return new RawStream(
		`http://hub/api/trpc/presence.connect`,
		{
			cookie: `${SESSION_COOKIE}=${sessionToken}`
		},
		{ socketPath }
	);
}

describe('a client that stops reading', () => {
	it('is closed past STREAM_BUFFER_LIMIT_BYTES (counted as overflow); a reading stream gets everything', async () => {
		const stalled = stalledAgentStream(ws.agents[0]!.sessionToken);
		const healthy = readingStream(ws.agents[1]!.sessionToken);
		await healthy.value('ready');
		const visitor = ws.visitors[0]!;
		const { connectionId } = await t.services.presence.connect({
			workspaceId: ws.id,
			userId: visitor.id
		});
		await waitFor(() => hub.size === 2);

		// Page after page: about 400 bytes per event, several hundred KB in all for each agent.
		const PAGES = 1500;
		for (let i = 0; i < PAGES; i++) {
			await t.services.presence.page(connectionId, {
				url: `https://shop.test/p/${i}`,
				title: `Product ${i}`
			});
		}
		await healthy.next(
			(e) => e.value?.type === 'presence' && e.value.currentPage?.title === `Product ${PAGES - 1}`,
			30_000
		);
		// The stalled client does not read, so only the server side can tell: its stream is gone.
		await waitFor(() => hub.size === 1, 'one stream left', 15_000);
		const pages = healthy
			.values()
			.filter((e) => e.type === 'presence' && e.userId === visitor.id && e.currentPage);
		expect(pages).toHaveLength(PAGES);

		const { text } = await t.services.metrics.render();
		const families = parsePrometheus(text);
		expect(sampleValue(families, 'presence_streams_closed_total', { reason: 'overflow' })).toBe(1);
		healthy.close();
		stalled.destroy();
	});

	it('an agent whose snapshot alone passes the limit is not closed for it: events after it wait and arrive', async () => {
		// About 1,500 visitors in the agent's conversations: a `ready` of some 300 KB, far past the
		// 16 KB limit and the Unix socket's kernel buffers, so most of it waits in the process.
		const big = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const agent = big.agents[0]!;
		const ids = Array.from({ length: 1500 }, () => randomUUID());
		const conversations = Array.from({ length: ids.length }, () => randomUUID());
		await sql`insert into users (id, workspace_id, kind, display_name)
			select unnest(${ids}::uuid[]), ${big.id}::uuid, 'visitor', 'Visitor with a long enough name'`.execute(
			t.services.db
		);
		await sql`insert into conversations (id, workspace_id, visitor_id)
			select unnest(${conversations}::uuid[]), ${big.id}::uuid, unnest(${ids}::uuid[])`.execute(
			t.services.db
		);
		await sql`insert into conversation_participants (conversation_id, user_id)
			select unnest(${conversations}::uuid[]), unnest(${ids}::uuid[])
			union all select unnest(${conversations}::uuid[]), ${agent.id}::uuid`.execute(t.services.db);
		const closedBefore = await overflowsSoFar();
		const readiesBefore = await readiesSoFar();

		const socket = stalledAgentStream(agent.sessionToken);
		await waitFor(() => hub.size === 1, 'the agent stream open');
		// Its `ready` is written (the hub counts it) while the client has not read a byte yet.
		await waitFor(async () => (await readiesSoFar()) > readiesBefore, 'ready written');
		const visitor = big.visitors[0]!;
		const { connectionId } = await t.services.presence.connect({
			workspaceId: big.id,
			userId: visitor.id
		});
		await t.services.presence.page(connectionId, { url: 'https://shop.test/x', title: 'After' });
		// Time for the change to reach the hub and be handed to the stream.
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(hub.size).toBe(1);
		expect(await overflowsSoFar()).toBe(closedBefore);

		// The client reads now: the whole snapshot, then the page change.
		let text = '';
		socket.setEncoding('utf8');
		socket.on('data', (chunk: string) => (text += chunk));
		socket.resume();
		await waitFor(() => text.includes('"title":"After"'), 'the page change after the snapshot');
		expect(text.indexOf('"type":"ready"')).toBeLessThan(text.indexOf('"title":"After"'));
		expect(text.split('"userId":').length - 1).toBeGreaterThan(1500);
		socket.destroy();
		await waitFor(() => hub.size === 0, 'the stream closed');
	});
});

async function overflowsSoFar(): Promise<number> {
	const families = parsePrometheus((await t.services.metrics.render()).text);
	return sampleValue(families, 'presence_streams_closed_total', { reason: 'overflow' });
}

async function readiesSoFar(): Promise<number> {
	const families = parsePrometheus((await t.services.metrics.render()).text);
	return sampleValue(families, 'presence_stream_events_written_total', { type: 'ready' });
}

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { createClient, loginAgent, type PresenceClient } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream, type ClientStream } from '../../support/client-stream';
import { createTestDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';
import { waitFor } from '../../support/clock';

/**
 * Issue 9, acceptance 1: Postgres going away under running nodes (its connections terminated,
 * as a restart, a failover or a pooler does; or the server stopped and started). No node exits,
 * presence (Redis) stays right throughout, calls that need Postgres are a clear 503 meanwhile
 * and answer again within 5 s.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
	for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function setUp(databaseUrl: string, nodes: number) {
	const prefix = testKeyPrefix();
	cleanups.push(() => dropKeyPrefix(prefix));
	const env = testEnv({ url: databaseUrl } as TestDatabase, prefix);
	const started: AppNode[] = [];
	for (let i = 0; i < nodes; i++) started.push(await startAppNode(env));
	cleanups.push(() => Promise.all(started.map((n) => n.stop())));
	const db = createKysely(databaseUrl, 2);
	cleanups.push(() => db.destroy());
	const ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 1 });
	return { nodes: started, db, ws };
}

/** The agent's stream on one node, the visitor's on another (or the same): both live. */
async function liveStreams(ws: TestWorkspace, agentNode: AppNode, visitorNode: AppNode) {
	const agent = ws.agents[0]!;
	const visitor = ws.visitors[0]!;
	const cookie = await loginAgent(agentNode.trpcUrl, agent.email, agent.password);
	const agentClient = createClient({ url: agentNode.trpcUrl, auth: { agentCookie: cookie } });
	const agentStream = openClientStream(agentClient);
	await agentStream.ready;
	const visitorStream = openClientStream(
		createClient({ url: visitorNode.trpcUrl, auth: { visitorToken: visitor.visitorToken } })
	);
	await visitorStream.ready;
	await agentStream.reader.presenceOf(visitor.id, (e) => e.isOnline);
	return { agentClient, agentStream, visitorStream };
}

/** A call that needs Postgres (participants) and answers the visitor's presence (Redis). */
async function visitorSeenOnline(client: PresenceClient, ws: TestWorkspace) {
	const people = await client.conversations.participants.query({
		conversationId: ws.visitors[0]!.conversationId
	});
	return people.find((p) => p.id === ws.visitors[0]!.id)?.isOnline === true;
}

/** Waits until the call answers from Postgres again; returns how long that took. */
async function answersAgainWithin(client: PresenceClient, ws: TestWorkspace, ms: number) {
	const from = Date.now();
	await waitFor(() => visitorSeenOnline(client, ws).catch(() => false), 'the visitor online', ms);
	return Date.now() - from;
}

function expectAlive(nodes: AppNode[], streams: ClientStream[]) {
	for (const node of nodes) expect(node.process.exitCode, node.output.join('')).toBeNull();
	for (const stream of streams) expect(stream.ended()).toBe(false);
}

describe('Postgres away under running nodes', () => {
	it('connections terminated three times: no node exits, presence stays, answers again within 5 s', async () => {
		const database = await createTestDatabase();
		cleanups.push(() => database.drop());
		const { nodes, ws } = await setUp(database.url, 2);
		const [nodeA, nodeB] = nodes as [AppNode, AppNode];
		onTestFailed(() =>
			console.log('NODE A', nodeA.output.join(''), 'NODE B', nodeB.output.join(''))
		);
		const { agentClient, agentStream, visitorStream } = await liveStreams(ws, nodeA, nodeB);
		const visitor = ws.visitors[0]!;
		const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
		admin.on('error', () => {});
		await admin.connect();
		cleanups.push(() => admin.end());
		const recoveries: number[] = [];
		try {
			for (let round = 0; round < 3; round++) {
				expect(await visitorSeenOnline(agentClient, ws)).toBe(true);
				const killed = await admin.query(
					'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
					[database.name]
				);
				expect(killed.rowCount).toBeGreaterThan(0);
				recoveries.push(await answersAgainWithin(agentClient, ws, 5000));
				expectAlive(nodes, [agentStream, visitorStream]);
			}
			// Presence never wavered: no offline event for the visitor reached the agent.
			await new Promise((r) => setTimeout(r, 500));
			expect(
				agentStream.reader.events.some(
					(e) => e.type === 'presence' && e.userId === visitor.id && !e.isOnline
				)
			).toBe(false);
			// The nodes noticed, said so once, and carried on.
			expect(nodeA.output.join('') + nodeB.output.join('')).toMatch(/postgres connection lost/);
			console.log(
				`[postgres-outage] answered again after terminations in ${recoveries.join(', ')} ms`
			);
		} finally {
			agentStream.unsubscribe();
			visitorStream.unsubscribe();
		}
	});

	it('a private Postgres stopped and started: 503 while away, presence keeps working, last-seen written after, answers within 5 s', async () => {
		const server: PostgresServerHandle = await startPostgresServer();
		cleanups.push(() => server.cleanup());
		const { nodes, ws, db } = await setUp(server.url, 1);
		const node = nodes[0]!;
		onTestFailed(() => console.log('NODE', node.output.join('')));
		const { agentClient, agentStream, visitorStream } = await liveStreams(ws, node, node);
		const visitor = ws.visitors[0]!;
		try {
			await server.stop();
			// A call that needs Postgres: a clear, retryable 503 without internal detail.
			const started = Date.now();
			const error = await agentClient.conversations.participants
				.query({ conversationId: visitor.conversationId })
				.then(
					() => null,
					(e: { data?: { code?: string; httpStatus?: number }; message: string }) => e
				);
			expect(Date.now() - started).toBeLessThan(5000);
			expect(error?.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
			expect(error?.message).toBe('The database is unavailable: try again in a moment');
			// Presence does not depend on Postgres: the agent's session was verified, so its
			// heartbeats go on; the visitor's too; nobody goes offline, streams stay open.
			await new Promise((r) => setTimeout(r, 2500)); // past the heartbeat timeout (1.5 s)
			expectAlive(nodes, [agentStream, visitorStream]);
			expect(
				agentStream.reader.events.some(
					(e) => e.type === 'presence' && e.userId === visitor.id && !e.isOnline
				)
			).toBe(false);
			// The visitor leaves meanwhile: offline at once on the agent's stream; its last-seen
			// write fails now and is retried.
			visitorStream.unsubscribe();
			const offline = await agentStream.reader.presenceOf(visitor.id, (e) => !e.isOnline);
			expect(offline.lastSeenAt).not.toBeNull();

			await server.start();
			const restartedAt = Date.now();
			const took = await waitFor(
				() =>
					agentClient.conversations.participants
						.query({ conversationId: visitor.conversationId })
						.then(
							() => true,
							() => false
						),
				'the conversations again',
				5000
			).then(() => Date.now() - restartedAt);
			expectAlive(nodes, [agentStream]);
			// The online-time write may have landed before the stop: wait for the offline one.
			const offlineAt = Date.parse(offline.lastSeenAt!);
			const row = await waitFor(
				async () => {
					const user = await db
						.selectFrom('users')
						.select('last_seen_at')
						.where('id', '=', visitor.id)
						.executeTakeFirst()
						.catch(() => undefined);
					return user?.last_seen_at && user.last_seen_at.getTime() > offlineAt - 1000 ? user : null;
				},
				'the row',
				10_000
			);
			expect(Math.abs(row.last_seen_at!.getTime() - offlineAt)).toBeLessThan(1000);
			const health = await fetch(`${node.url}/healthz`);
			expect(health.status).toBe(200);
			expect(
				(await sql<{ n: number }>`select 1 as n`.execute(db)).rows[0]?.n,
				'the test’s own pool reconnects too'
			).toBe(1);
			console.log(`[postgres-outage] private Postgres: answered ${took} ms after it was back`);
		} finally {
			agentStream.unsubscribe();
			visitorStream.unsubscribe();
		}
	});
});

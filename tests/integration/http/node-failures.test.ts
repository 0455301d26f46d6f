import { waitFor } from '../../support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';
import { TEST_TIMINGS } from '../../support/timings';
import { openClientStream } from '../../support/client-stream';

/**
 * Real processes dying: a node SIGKILLed (its lease lapses, another node's sweep takes its
 * people offline), and a node stopped with SIGTERM (its streams end so clients move on; a
 * client that reconnects to another node within the grace causes no flicker).
 */

const LEASE_TTL_MS = TEST_TIMINGS.leaseTtlMs;
const SWEEP_MS = 100;
const GRACE_MS = 2000;

let database: TestDatabase;
let prefix: string;
let env: Record<string, string>;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;
let survivor: AppNode;
const doomed: AppNode[] = [];

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	env = testEnv(database, prefix, {
		PRESENCE_LEASE_TTL_MS: String(LEASE_TTL_MS),
		PRESENCE_SWEEP_INTERVAL_MS: String(SWEEP_MS),
		PRESENCE_GRACE_MS: String(GRACE_MS)
	});
	survivor = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 2 });
});

afterAll(async () => {
	await Promise.all([survivor?.stop(), ...doomed.map((n) => n.kill())]);
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

async function agentStream(node: AppNode) {
	const agent = ws.agents[0]!;
	const cookie = await loginAgent(node.trpcUrl, agent.email, agent.password);
	const stream = openClientStream(
		createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } })
	);
	await stream.ready;
	return stream;
}

function visitorStream(node: AppNode, visitorToken: string) {
	return openClientStream(createClient({ url: node.trpcUrl, auth: { visitorToken } }));
}

describe('app nodes dying', () => {
	it('SIGKILL: the dead node’s visitors go offline within lease TTL + sweep, seen from the other node', async () => {
		const victim = await startAppNode(env);
		doomed.push(victim);
		const agent = await agentStream(survivor);
		const visitor = ws.visitors[0]!;
		const stream = visitorStream(victim, visitor.visitorToken);
		await stream.ready;
		await agent.reader.presenceOf(visitor.id, (e) => e.isOnline);

		await victim.kill();
		const killedAt = Date.now();
		await agent.reader.presenceOf(visitor.id, (e) => !e.isOnline);
		const elapsed = Date.now() - killedAt;
		// The bound the design promises, with room for two loaded cores.
		expect(elapsed).toBeLessThan(LEASE_TTL_MS + SWEEP_MS + 3000);
		stream.unsubscribe();
		agent.unsubscribe();
	});

	it('SIGTERM: the node ends its streams; a client that moves to another node within the grace never flickers', async () => {
		const leaving = await startAppNode(env);
		doomed.push(leaving);
		const agent = await agentStream(survivor);
		const visitor = ws.visitors[1]!;
		const first = visitorStream(leaving, visitor.visitorToken);
		await first.ready;
		const online = await agent.reader.presenceOf(visitor.id, (e) => e.isOnline);

		const stopped = leaving.stop();
		// The client notices its stream ended and reconnects, here to the surviving node (a
		// balancer in front would send its EventSource's own reconnect there).
		await waitFor(() => first.lost(), 'the stream to end with its node', 10_000);
		first.unsubscribe();
		const second = visitorStream(survivor, visitor.visitorToken);
		await second.ready;
		await stopped;
		expect(leaving.process.exitCode ?? leaving.process.signalCode).not.toBeNull();

		// Past the grace: still online, and the agent saw no offline in between.
		await new Promise((r) => setTimeout(r, GRACE_MS + 1000));
		const [status] = await createClient({
			url: survivor.trpcUrl,
			auth: { visitorToken: visitor.visitorToken }
		}).presence.status.query({ userIds: [visitor.id] });
		expect(status).toMatchObject({ isOnline: true });
		expect(
			agent.reader
				.presenceEventsOf(visitor.id)
				.filter((e) => e.version > online.version && !e.isOnline)
		).toEqual([]);
		second.unsubscribe();
		agent.unsubscribe();
	});
});

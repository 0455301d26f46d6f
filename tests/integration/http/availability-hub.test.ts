import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import type { StreamEvent } from '../../../src/lib/contract';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { testEnv } from '../../support/services';

/**
 * Availability and the team's status through the production entry (the stream hub, the stock
 * client), and with Redis killed: the choice is still stored and read from Postgres.
 */

let database: TestDatabase;
let redis: RedisServerHandle;
let node: AppNode;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;

beforeAll(async () => {
	database = await createTestDatabase();
	redis = await startRedisServer();
	const env = testEnv(database, 'availability:', {
		REDIS_URL: redis.url,
		REDIS_COMMAND_TIMEOUT_MS: '300',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '10000',
		PRESENCE_HEARTBEAT_INTERVAL_MS: '500'
	});
	node = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 2, visitors: 1 });
});

afterAll(async () => {
	await node?.stop();
	await redis?.cleanup();
	await db?.destroy();
	await database?.drop();
});

const teamIs = (online: boolean) => (e: StreamEvent) => e.type === 'team' && e.online === online;

describe('availability and the team status on the stream hub', () => {
	it('teammates and visitors follow it live; with Redis down it is stored and read from Postgres', async () => {
		onTestFailed(() => console.log('NODE OUTPUT', node.output.join('')));
		const [ada, grace] = ws.agents;
		const visitor = ws.visitors[0]!;
		const adaClient = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: await loginAgent(node.trpcUrl, ada!.email, ada!.password) }
		});
		const graceClient = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: await loginAgent(node.trpcUrl, grace!.email, grace!.password) }
		});
		const visitorStream = openClientStream(
			createClient({ url: node.trpcUrl, auth: { visitorToken: visitor.visitorToken } })
		);
		const visitorReady = await visitorStream.ready;
		expect(visitorReady.teamOnline).toBe(false);

		const graceStream = openClientStream(graceClient);
		await graceStream.ready;
		const adaStream = openClientStream(adaClient);
		const adaReady = await adaStream.ready;
		expect(adaReady.snapshot.find((p) => p.userId === ada!.id)?.availability).toBe('available');
		// Grace is online and available already.
		await visitorStream.reader.next(teamIs(true));

		await graceClient.presence.setAvailability.mutate({ availability: 'busy' });
		await adaStream.reader.presenceOf(grace!.id, (e) => e.availability === 'busy');
		// Ada is still there: the visitor hears nothing until she goes away too.
		await adaClient.presence.setAvailability.mutate({ availability: 'away' });
		await graceStream.reader.presenceOf(ada!.id, (e) => e.availability === 'away');
		await visitorStream.reader.next(teamIs(false));
		const teamEvents = visitorStream.reader.events.filter((e) => e.type === 'team');
		expect(teamEvents).toEqual([
			{ type: 'team', online: true },
			{ type: 'team', online: false }
		]);

		await redis.kill();
		// Stored, although no teammate hears of it live while Redis is away.
		await adaClient.presence.setAvailability.mutate({ availability: 'available' });
		const [status] = await graceClient.presence.status.query({ userIds: [ada!.id] });
		expect(status).toMatchObject({ isOnline: false, availability: 'available' });
		const participants = await graceClient.conversations.participants.query({
			conversationId: visitor.conversationId
		});
		expect(participants.find((p) => p.id === grace!.id)?.availability).toBe('busy');
		const row = await db
			.selectFrom('users')
			.select('availability')
			.where('id', '=', ada!.id)
			.executeTakeFirstOrThrow();
		expect(row.availability).toBe('available');

		visitorStream.unsubscribe();
		graceStream.unsubscribe();
		adaStream.unsubscribe();
	});
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../../src/lib/contract';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';

/**
 * Typing across nodes (issue 13, acceptance 2): the typist on node A, the agent on node B. A's
 * process is SIGKILLed mid-typing; B's sweep ends the typing by its Redis deadline, and only the
 * typist's conversation hears of it.
 */

const TYPING_TTL_MS = 1500;
const SWEEP_MS = 100;
// Longer than the typing TTL: the typing must end by its own deadline, not by the reap of
// node A (and a node starting up on two loaded cores must not lose its lease).
const LEASE_TTL_MS = 3000;

let database: TestDatabase;
let prefix: string;
let env: Record<string, string>;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;
let b: AppNode;
let a: AppNode | undefined;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	env = testEnv(database, prefix, {
		TYPING_TTL_MS: String(TYPING_TTL_MS),
		PRESENCE_SWEEP_INTERVAL_MS: String(SWEEP_MS),
		PRESENCE_LEASE_TTL_MS: String(LEASE_TTL_MS)
	});
	b = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 2 });
});

afterAll(async () => {
	await Promise.all([b?.stop(), a?.kill()]);
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

const isTyping = (e: StreamEvent): e is Extract<StreamEvent, { type: 'typing' }> =>
	e.type === 'typing';

describe('typing across nodes', () => {
	it('a typist whose node is SIGKILLed mid-typing stops typing for the agent on the other node; another visitor hears nothing', async () => {
		a = await startAppNode(env);
		const agent = ws.agents[0]!;
		const cookie = await loginAgent(b.trpcUrl, agent.email, agent.password);
		const agentClient = createClient({ url: b.trpcUrl, auth: { agentCookie: cookie } });
		const agentStream = openClientStream(agentClient);
		await agentStream.ready;

		const [typist, bystander] = ws.visitors as [(typeof ws.visitors)[0], (typeof ws.visitors)[0]];
		const other = openClientStream(
			createClient({ url: b.trpcUrl, auth: { visitorToken: bystander.visitorToken } })
		);
		await other.ready;
		const typistClient = createClient({
			url: a.trpcUrl,
			auth: { visitorToken: typist.visitorToken }
		});
		const typistStream = openClientStream(typistClient);
		const { connectionId } = await typistStream.ready;

		// Bad input is a clear 4xx, not a crash.
		await expect(
			typistClient.presence.typing.mutate({ connectionId, conversationId: 'nope' })
		).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
		await expect(
			typistClient.presence.typing.mutate({
				connectionId,
				conversationId: bystander.conversationId
			})
		).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });

		// Send, typed again: start, then the end comes with the message (no wait for the deadline).
		await typistClient.presence.typing.mutate({
			connectionId,
			conversationId: typist.conversationId
		});
		await agentStream.reader.next((e) => isTyping(e) && e.userId === typist.id && e.typing);
		await typistClient.messages.send.mutate({ conversationId: typist.conversationId, body: 'hi' });
		const sentAt = Date.now();
		await agentStream.reader.next((e) => isTyping(e) && e.userId === typist.id && !e.typing);
		expect(Date.now() - sentAt).toBeLessThan(TYPING_TTL_MS);

		// Typing again, and extending it: one start for the agent.
		await typistClient.presence.typing.mutate({
			connectionId,
			conversationId: typist.conversationId
		});
		await typistClient.presence.typing.mutate({
			connectionId,
			conversationId: typist.conversationId
		});
		const start = await agentStream.reader.next(
			(e) => isTyping(e) && e.userId === typist.id && e.typing
		);
		expect(start).toEqual({
			type: 'typing',
			conversationId: typist.conversationId,
			userId: typist.id,
			typing: true
		});

		await a.kill();
		const killedAt = Date.now();
		await agentStream.reader.next(
			(e) => isTyping(e) && e.userId === typist.id && !e.typing,
			15_000
		);
		const took = Date.now() - killedAt;
		expect(took).toBeLessThan(TYPING_TTL_MS + SWEEP_MS + 1000);

		const agentTyping = agentStream.reader.events.filter(isTyping);
		expect(agentTyping.map((e) => e.typing)).toEqual([true, false, true, false]);
		// The visitor of the other conversation never heard of it.
		expect(other.reader.events.filter(isTyping)).toEqual([]);
		agentStream.unsubscribe();
		other.unsubscribe();
		typistStream.unsubscribe();
	});
});

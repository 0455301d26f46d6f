import { describe, expect, it } from 'vitest';
import { createWorkspace, rowCounts } from '../../support/fixtures';
import { useTestServices } from '../../support/services';
import { StreamReader } from '../../support/stream-reader';

/**
 * "Visitors online now": visitors who only browse (no conversation) are listed for their
 * workspace's agents, live on the agents' streams, and an agent may start a conversation.
 */

const t = useTestServices();

async function open(credentials: { sessionToken?: string; visitorToken?: string }) {
	const controller = new AbortController();
	const iterable = (await t
		.caller(credentials, controller.signal)
		.presence.connect()) as AsyncIterable<unknown>;
	const reader = new StreamReader(iterable);
	const ready = await reader.ready();
	return { reader, ready, close: () => controller.abort() };
}

describe('visitors.online', () => {
	it('lists a browsing visitor with page and time on site; their changes reach agents live; not other workspaces', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const other = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const agent = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const agentStream = await open({ sessionToken: ws.agents[0]!.sessionToken });
		const otherStream = await open({ sessionToken: other.agents[0]!.sessionToken });

		const session = await t.caller().widget.session({ workspaceKey: ws.key });
		const visitor = await open({ visitorToken: session.visitorToken });
		await t.caller({ visitorToken: session.visitorToken }).presence.page({
			connectionId: visitor.ready.connectionId,
			url: 'https://shop.test/kettles',
			title: 'Kettles'
		});
		// The browsing visitor is in no conversation, yet the agent's stream follows them.
		await agentStream.reader.presenceOf(
			session.visitorId,
			(e) => e.currentPage?.title === 'Kettles'
		);

		const online = await agent.visitors.online();
		const listed = online.find((v) => v.id === session.visitorId)!;
		expect(listed).toMatchObject({
			displayName: session.displayName,
			conversationId: null,
			pagesSeen: 1,
			isOnline: true,
			status: 'active',
			currentPage: { url: 'https://shop.test/kettles', title: 'Kettles' }
		});
		expect(Date.parse(listed.onSiteSince!)).toBeLessThanOrEqual(Date.now());
		// The seeded visitor of `ws` has no connection: not listed. Agents are never listed.
		expect(online.map((v) => v.id)).toEqual([session.visitorId]);

		expect(
			await t.caller({ sessionToken: other.agents[0]!.sessionToken }).visitors.online()
		).toEqual([]);
		expect(JSON.stringify(otherStream.reader.events)).not.toContain(session.visitorId);

		visitor.close();
		await agentStream.reader.presenceOf(session.visitorId, (e) => !e.isOnline);
		expect(await agent.visitors.online()).toEqual([]);
		agentStream.close();
		otherStream.close();
	});

	it('is for agents only, bounded, and refuses bad input', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		await expect(
			t.caller({ visitorToken: ws.visitors[0]!.visitorToken }).visitors.online()
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(t.caller().visitors.online()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		const agent = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		await expect(agent.visitors.online({ limit: 100_000 })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
		await expect(agent.visitors.online({ limit: 0 })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
	});
});

describe('visitors.startConversation', () => {
	it('an agent starts one with a browsing visitor: the visitor’s stream learns of it; a repeat opens the same', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 0 });
		const session = await t.caller().widget.session({ workspaceKey: ws.key });
		const visitor = await open({ visitorToken: session.visitorToken });
		const agent = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const started = await agent.visitors.startConversation({ visitorId: session.visitorId });
		expect(started.created).toBe(true);
		await visitor.reader.next(
			(e) => e.type === 'conversation' && e.conversationId === started.conversationId
		);
		expect(await agent.visitors.startConversation({ visitorId: session.visitorId })).toEqual({
			conversationId: started.conversationId,
			created: false
		});
		// The visitor's first message goes to it.
		expect(
			await t.caller({ visitorToken: session.visitorToken }).widget.startConversation()
		).toEqual({ conversationId: started.conversationId });
		const list = await agent.conversations.list();
		expect(list.map((c) => c.id)).toContain(started.conversationId);
		visitor.close();
	});

	it('refuses another workspace’s visitor, an agent, bad input and visitors, writing nothing', async () => {
		const a = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const b = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const session = await t.caller().widget.session({ workspaceKey: b.key });
		const agent = t.caller({ sessionToken: a.agents[0]!.sessionToken });
		const before = await rowCounts(t.services);
		await expect(
			agent.visitors.startConversation({ visitorId: session.visitorId })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(
			agent.visitors.startConversation({ visitorId: a.agents[0]!.id })
		).rejects.toMatchObject({ code: 'NOT_FOUND' });
		await expect(
			agent.visitors.startConversation({ visitorId: 'not-a-uuid' })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(
			t
				.caller({ visitorToken: session.visitorToken })
				.visitors.startConversation({ visitorId: session.visitorId })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		expect(await rowCounts(t.services)).toEqual(before);
	});
});

import { describe, expect, it } from 'vitest';
import { createWorkspace, rowCounts } from '../../support/fixtures';
import { useTestServices } from '../../support/services';

const t = useTestServices();
const NOBODY = '00000000-0000-4000-8000-000000000000';

describe('conversations', () => {
	it('list: an agent sees the workspace’s conversations with visitor presence, last message and unread count', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const [agent] = ws.agents;
		const [v0] = ws.visitors;
		await t
			.caller({ visitorToken: v0!.visitorToken })
			.messages.send({ conversationId: v0!.conversationId, body: 'Hello?' });
		const list = await t.caller({ sessionToken: agent!.sessionToken }).conversations.list();
		expect(list).toHaveLength(2);
		const first = list[0]!;
		expect(first.id).toBe(v0!.conversationId);
		expect(first.unread).toBe(1);
		expect(first.lastMessage?.body).toBe('Hello?');
		expect(first.visitor).toMatchObject({
			id: v0!.id,
			isOnline: false,
			status: 'offline',
			currentPage: null
		});
	});

	it('list: a visitor sees only their own conversation', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const list = await t
			.caller({ visitorToken: ws.visitors[1]!.visitorToken })
			.conversations.list();
		expect(list.map((c) => c.id)).toEqual([ws.visitors[1]!.conversationId]);
	});

	it('participants: FORBIDDEN for another visitor’s conversation and across workspaces, UNAUTHORIZED with no identity', async () => {
		const a = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const b = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const other = { conversationId: a.visitors[1]!.conversationId };
		await expect(
			t.caller({ visitorToken: a.visitors[0]!.visitorToken }).conversations.participants(other)
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(
			t.caller({ sessionToken: b.agents[0]!.sessionToken }).conversations.participants(other)
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(t.caller().conversations.participants(other)).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		await expect(
			t
				.caller({ sessionToken: a.agents[0]!.sessionToken })
				.conversations.participants({ conversationId: 'x' })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(
			t
				.caller({ sessionToken: a.agents[0]!.sessionToken })
				.conversations.participants({ conversationId: NOBODY })
		).rejects.toMatchObject({ code: 'NOT_FOUND' });
	});
});

describe('visitors.byId', () => {
	it('answers an agent of the workspace with presence fields', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const visitor = await t
			.caller({ sessionToken: ws.agents[0]!.sessionToken })
			.visitors.byId({ visitorId: ws.visitors[0]!.id });
		expect(visitor).toMatchObject({
			id: ws.visitors[0]!.id,
			displayName: ws.visitors[0]!.displayName,
			isOnline: false,
			status: 'offline',
			lastSeenAt: null,
			currentPage: null
		});
	});

	it('is UNAUTHORIZED for a visitor or nobody, FORBIDDEN across workspaces, BAD_REQUEST for a bad id', async () => {
		const a = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const b = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const input = { visitorId: a.visitors[0]!.id };
		await expect(t.caller().visitors.byId(input)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(
			t.caller({ visitorToken: a.visitors[0]!.visitorToken }).visitors.byId(input)
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(
			t.caller({ sessionToken: b.agents[0]!.sessionToken }).visitors.byId(input)
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(
			t.caller({ sessionToken: a.agents[0]!.sessionToken }).visitors.byId({ visitorId: 'nope' })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
	});
});

describe('messages', () => {
	it('send, list (newest first, paged) and markRead', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const agent = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const visitor = t.caller({ visitorToken: ws.visitors[0]!.visitorToken });
		const conversationId = ws.visitors[0]!.conversationId;
		for (let i = 0; i < 55; i++) await visitor.messages.send({ conversationId, body: `m${i}` });
		const sent = await agent.messages.send({ conversationId, body: '  Hi there  ' });
		expect(sent.message).toMatchObject({
			body: 'Hi there',
			senderId: ws.agents[0]!.id,
			conversationId
		});
		expect(sent.delivered).toBe(false);

		const page1 = await agent.messages.list({ conversationId });
		expect(page1.messages).toHaveLength(50);
		expect(page1.messages[0]!.body).toBe('Hi there');
		const page2 = await agent.messages.list({ conversationId, cursor: page1.nextCursor! });
		expect(page2.messages.map((m) => m.body)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1', 'm0']);
		expect(page2.nextCursor).toBeNull();

		// The agent replied, so everything before the reply counts as read by them.
		const [before] = await agent.conversations.list();
		expect(before!.unread).toBe(0);
		const [visitorView] = await visitor.conversations.list();
		expect(visitorView!.unread).toBe(1);
		await visitor.messages.markRead({ conversationId });
		const [after] = await visitor.conversations.list();
		expect(after!.unread).toBe(0);
	});

	it('refuses another visitor’s conversation, no identity, and bad input, writing nothing', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const other = ws.visitors[1]!.conversationId;
		const visitor = t.caller({ visitorToken: ws.visitors[0]!.visitorToken });
		const before = await rowCounts(t.services);
		await expect(
			visitor.messages.send({ conversationId: other, body: 'psst' })
		).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(visitor.messages.list({ conversationId: other })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(visitor.messages.markRead({ conversationId: other })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(
			t.caller().messages.send({ conversationId: other, body: 'x' })
		).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		const own = ws.visitors[0]!.conversationId;
		await expect(visitor.messages.send({ conversationId: own, body: '   ' })).rejects.toMatchObject(
			{
				code: 'BAD_REQUEST'
			}
		);
		await expect(
			visitor.messages.send({ conversationId: own, body: 'x'.repeat(4001) })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(
			visitor.messages.list({ conversationId: own, cursor: 'garbage' })
		).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
		expect(await rowCounts(t.services)).toEqual(before);
	});
});

import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../../src/lib/contract';
import { createWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';
import { waitFor } from '../../support/clock';
import { StreamReader } from '../../support/stream-reader';

const t = useTestServices();

/** Opens `presence.connect` through the caller, as someone holding `credentials`. */
async function open(credentials: { sessionToken?: string; visitorToken?: string }) {
	const controller = new AbortController();
	const iterable = (await t
		.caller(credentials, controller.signal)
		.presence.connect()) as AsyncIterable<unknown>;
	const reader = new StreamReader(iterable);
	const ready = await reader.ready();
	return { reader, ready, close: () => controller.abort(), controller };
}

const PNG = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64'
);

describe('presence.connect through the caller', () => {
	it('starts with ready + snapshot, then streams a visitor coming online and going offline after the grace', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 2 });
		const [v0] = ws.visitors;
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });
		expect(agent.ready.connectionId).toBeTruthy();
		const ids = agent.ready.snapshot.map((u) => u.userId).sort();
		expect(ids).toEqual([...ws.agents.map((a) => a.id), ...ws.visitors.map((v) => v.id)].sort());
		const self = agent.ready.snapshot.find((u) => u.userId === ws.agents[0]!.id)!;
		expect(self.isOnline).toBe(true);
		expect(agent.ready.snapshot.find((u) => u.userId === v0!.id)).toMatchObject({
			isOnline: false,
			status: 'offline'
		});

		const visitor = await open({ visitorToken: v0!.visitorToken });
		const online = await agent.reader.presenceOf(v0!.id, (e) => e.isOnline);
		expect(online.status).toBe('active');

		visitor.close();
		await visitor.reader.done;
		const offline = await agent.reader.presenceOf(v0!.id, (e) => !e.isOnline);
		expect(offline.status).toBe('offline');
		expect(offline.lastSeenAt).not.toBeNull();
		expect(offline.version).toBeGreaterThan(online.version);
		agent.close();
	});

	it('a visitor’s snapshot holds only their conversation’s participants, and they never hear of another visitor', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const [v0, v1] = ws.visitors;
		const first = await open({ visitorToken: v0!.visitorToken });
		expect(first.ready.snapshot.map((u) => u.userId).sort()).toEqual(
			[v0!.id, ws.agents[0]!.id].sort()
		);
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });
		await first.reader.presenceOf(ws.agents[0]!.id, (e) => e.isOnline);
		const second = await open({ visitorToken: v1!.visitorToken });
		await t
			.caller({ visitorToken: v1!.visitorToken })
			.messages.send({ conversationId: v1!.conversationId, body: 'secret' });
		await agent.reader.next((e) => e.type === 'message');
		second.close();
		await agent.reader.presenceOf(v1!.id, (e) => !e.isOnline);
		const leaked = first.reader.events.filter(
			(e: StreamEvent) => JSON.stringify(e).includes(v1!.id) || JSON.stringify(e).includes('secret')
		);
		expect(leaked).toEqual([]);
		first.close();
		agent.close();
	});

	it('focus on the agent’s conversation makes the visitor `online` (chatting with me); blur makes them `active`', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [v0] = ws.visitors;
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });
		const visitor = await open({ visitorToken: v0!.visitorToken });
		const api = t.caller({ visitorToken: v0!.visitorToken });
		await agent.reader.presenceOf(v0!.id, (e) => e.isOnline);
		await api.presence.focus({
			connectionId: visitor.ready.connectionId,
			conversationId: v0!.conversationId
		});
		const focused = await agent.reader.presenceOf(v0!.id, (e) => e.status === 'online');
		expect(focused.focusConversationId).toBe(v0!.conversationId);
		await api.presence.page({
			connectionId: visitor.ready.connectionId,
			url: 'https://shop.example/kettle',
			title: 'Blue kettle'
		});
		const paged = await agent.reader.presenceOf(v0!.id, (e) => e.currentPage !== null);
		expect(paged.currentPage).toEqual({ url: 'https://shop.example/kettle', title: 'Blue kettle' });
		await api.presence.focus({ connectionId: visitor.ready.connectionId, conversationId: null });
		await agent.reader.presenceOf(v0!.id, (e) => e.status === 'active');

		const [status] = await t
			.caller({ sessionToken: ws.agents[0]!.sessionToken })
			.presence.status({ userIds: [v0!.id] });
		expect(status).toMatchObject({
			isOnline: true,
			status: 'active',
			currentPage: { title: 'Blue kettle' }
		});
		visitor.close();
		agent.close();
	});

	it('ends the server-side generator when the client aborts, and disconnects with the grace', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const before = t.services.metrics.streamsOpen;
		const visitor = await open({ visitorToken: ws.visitors[0]!.visitorToken });
		expect(t.services.metrics.streamsOpen).toBe(before + 1);
		const closedAt = Date.now();
		visitor.close();
		await visitor.reader.done;
		expect(Date.now() - closedAt).toBeLessThan(1000);
		expect(t.services.metrics.streamsOpen).toBe(before);
		await waitFor(async () => !(await t.services.presence.isOnline(ws.id, ws.visitors[0]!.id)));
	});
});

describe('presence procedures', () => {
	it('heartbeat, focus, page and preview check that the connection is the caller’s own', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const [v0, v1] = ws.visitors;
		const mine = await open({ visitorToken: v0!.visitorToken });
		const connectionId = mine.ready.connectionId;
		const owner = t.caller({ visitorToken: v0!.visitorToken });
		const intruder = t.caller({ visitorToken: v1!.visitorToken });

		expect(await owner.presence.heartbeat({ connectionId })).toEqual({ ok: true });
		await expect(intruder.presence.heartbeat({ connectionId })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(
			intruder.presence.focus({ connectionId, conversationId: v0!.conversationId })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(
			intruder.presence.page({ connectionId, url: 'https://x.test/', title: 'x' })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(
			intruder.presence.preview({ connectionId, image: PNG.toString('base64') })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(t.caller().presence.heartbeat({ connectionId })).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		await expect(
			owner.presence.heartbeat({ connectionId: `${ws.id}~does-not-exist` })
		).rejects.toMatchObject({ code: 'NOT_FOUND' });
		// Focusing a conversation one is not part of is refused too.
		await expect(
			owner.presence.focus({ connectionId, conversationId: v1!.conversationId })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		mine.close();
	});

	it('preview: accepts a PNG by content, refuses other content and oversize with BAD_REQUEST; agents fetch it, with its page, while online', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [v0] = ws.visitors;
		const visitor = await open({ visitorToken: v0!.visitorToken });
		const api = t.caller({ visitorToken: v0!.visitorToken });
		const connectionId = visitor.ready.connectionId;
		await expect(
			api.presence.preview({ connectionId, image: Buffer.from('GIF89a....').toString('base64') })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		const big = Buffer.concat([PNG, Buffer.alloc(101 * 1024)]).toString('base64');
		await expect(api.presence.preview({ connectionId, image: big })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
		const agentApi = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		expect(await agentApi.presence.previewImage({ userId: v0!.id })).toBeNull();

		const home = { url: 'https://shop.test/', title: 'Home' };
		await expect(
			api.presence.preview({
				connectionId,
				image: `data:image/png;base64,${PNG.toString('base64')}`,
				page: home
			})
		).resolves.toMatchObject({ stored: true });
		const stored = await agentApi.presence.previewImage({ userId: v0!.id });
		expect(stored?.dataUrl).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
		expect(stored?.page).toEqual(home);
		// The same page again within 30 s is not needed: answered, not stored, not an error.
		await expect(
			api.presence.preview({ connectionId, image: PNG.toString('base64'), page: home })
		).resolves.toEqual({ ok: true, stored: false, retryAfterMs: null });
		// Another page right away: its turn comes once the last capture is 5 s old.
		const cart = { url: 'https://shop.test/cart', title: 'Cart' };
		const early = await api.presence.preview({
			connectionId,
			image: PNG.toString('base64'),
			page: cart
		});
		expect(early.stored).toBe(false);
		expect(early.retryAfterMs).toBeGreaterThan(0);
		expect(early.retryAfterMs).toBeLessThanOrEqual(5000);
		expect((await agentApi.presence.previewImage({ userId: v0!.id }))?.page).toEqual(home);

		visitor.close();
		await waitFor(async () => (await agentApi.presence.previewImage({ userId: v0!.id })) === null);
	});

	it('status: up to 1,000 people the caller may see; FORBIDDEN beyond; BAD_REQUEST past 1,000', async () => {
		const a = await createWorkspace(t.services, { agents: 1, visitors: 2 });
		const b = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const agent = t.caller({ sessionToken: a.agents[0]!.sessionToken });
		const statuses = await agent.presence.status({ userIds: a.visitors.map((v) => v.id) });
		expect(statuses.map((s) => s.userId)).toEqual(a.visitors.map((v) => v.id));
		expect(statuses.every((s) => s.status === 'offline')).toBe(true);
		await expect(agent.presence.status({ userIds: [b.visitors[0]!.id] })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		const visitor = t.caller({ visitorToken: a.visitors[0]!.visitorToken });
		await expect(visitor.presence.status({ userIds: [a.visitors[1]!.id] })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		expect(await visitor.presence.status({ userIds: [a.agents[0]!.id] })).toHaveLength(1);
		const tooMany = Array.from({ length: 1001 }, () => a.visitors[0]!.id);
		await expect(agent.presence.status({ userIds: tooMany })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
		await expect(agent.presence.status({ userIds: [] })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
	});
});

describe('smart delivery', () => {
	it('offline recipient: delivered false and unread; online: delivered true and on their stream; focused: read at once', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [v0] = ws.visitors;
		const conversationId = v0!.conversationId;
		const agentApi = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });

		const offline = await agentApi.messages.send({ conversationId, body: 'Are you there?' });
		expect(offline.delivered).toBe(false);

		const visitor = await open({ visitorToken: v0!.visitorToken });
		const visitorApi = t.caller({ visitorToken: v0!.visitorToken });
		const [mine] = await visitorApi.conversations.list();
		expect(mine!.unread).toBe(1);

		const online = await agentApi.messages.send({ conversationId, body: 'Hello!' });
		expect(online.delivered).toBe(true);
		const pushed = await visitor.reader.next(
			(e) => e.type === 'message' && e.message.body === 'Hello!'
		);
		expect(pushed).toMatchObject({ conversationId, message: { body: 'Hello!' } });

		await visitorApi.presence.focus({ connectionId: visitor.ready.connectionId, conversationId });
		await agent.reader.presenceOf(v0!.id, (e) => e.status === 'online');
		const focused = await agentApi.messages.send({ conversationId, body: 'You are reading this' });
		expect(focused.delivered).toBe(true);
		const read = await agent.reader.next(
			(e) => e.type === 'read' && e.readerId === v0!.id && e.at === focused.message.createdAt
		);
		expect(read).toMatchObject({ conversationId });
		const [after] = await visitorApi.conversations.list();
		expect(after!.unread).toBe(0);
		visitor.close();
		agent.close();
	});
	it('a reload that only inherited the chat-open focus does not read a message at once; the tab saying "open" does', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [v0] = ws.visitors;
		const conversationId = v0!.conversationId;
		const agentApi = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const visitorApi = t.caller({ visitorToken: v0!.visitorToken });
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });
		const before = await open({ visitorToken: v0!.visitorToken });
		await visitorApi.presence.focus({ connectionId: before.ready.connectionId, conversationId });
		await agent.reader.presenceOf(v0!.id, (e) => e.status === 'online');

		// The reload: the old stream closes, the new one opens within the grace and has said nothing yet.
		before.close();
		await before.reader.done;
		const reloaded = await open({ visitorToken: v0!.visitorToken });
		const unseen = await agentApi.messages.send({ conversationId, body: 'Still there?' });
		expect(unseen.delivered).toBe(true);
		expect(unseen.deliveredTo).toEqual([v0!.id]);
		const [mine] = await visitorApi.conversations.list();
		expect(mine!.unread).toBe(1);
		const visitorSide = await visitorApi.conversations.participants({ conversationId });
		expect(visitorSide.find((p) => p.id === v0!.id)).toMatchObject({
			lastDeliveredAt: unseen.message.createdAt
		});

		// The reloaded tab shows the chat open: that reads it, and the agent hears so.
		await visitorApi.presence.focus({ connectionId: reloaded.ready.connectionId, conversationId });
		const read = await agent.reader.next((e) => e.type === 'read' && e.readerId === v0!.id);
		expect(read).toMatchObject({ conversationId });
		const [after] = await visitorApi.conversations.list();
		expect(after!.unread).toBe(0);
		reloaded.close();
		agent.close();
	});

	it('delivered: a message to an offline visitor is delivered when they come back and load it; the agent hears it once', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [v0] = ws.visitors;
		const conversationId = v0!.conversationId;
		const agentApi = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const visitorApi = t.caller({ visitorToken: v0!.visitorToken });
		const agent = await open({ sessionToken: ws.agents[0]!.sessionToken });

		const sent = await agentApi.messages.send({ conversationId, body: 'Back soon?' });
		expect(sent).toMatchObject({ delivered: false, deliveredTo: [] });
		const pushed = await agent.reader.next(
			(e) => e.type === 'message' && e.message.id === sent.message.id
		);
		expect(pushed).toMatchObject({ deliveredTo: [] });
		const visitorMarks = async () =>
			(await agentApi.conversations.participants({ conversationId })).find((p) => p.id === v0!.id);
		expect(await visitorMarks()).toMatchObject({ lastDeliveredAt: null, lastReadAt: null });

		// The visitor returns: the widget loads the conversation.
		await visitorApi.messages.list({ conversationId });
		const delivered = await agent.reader.next((e) => e.type === 'delivered' && e.userId === v0!.id);
		expect(delivered).toMatchObject({ conversationId, at: sent.message.createdAt });
		expect(await visitorMarks()).toMatchObject({
			lastDeliveredAt: sent.message.createdAt,
			lastReadAt: null
		});

		// Loading again moves nothing: no second event (the next one the agent sees is the marker).
		await visitorApi.messages.list({ conversationId });
		const marker = await agentApi.messages.send({ conversationId, body: 'marker' });
		const next = await agent.reader.next(
			(e) => e.type === 'delivered' || (e.type === 'message' && e.message.id === marker.message.id)
		);
		expect(next.type).toBe('message');
		agent.close();
	});
});

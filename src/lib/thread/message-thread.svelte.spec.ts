import { afterEach, describe, expect, it, vi } from 'vitest';
import { localServer, type LocalServer } from '../../../tests/support/local-server';
import type { Participant, ChatMessage } from '../contract';
import { PresenceConnection } from '../presence/presence-connection.svelte';
import { MessageThread, type MessageThreadInit } from './message-thread.svelte';

function person(id: string, kind: 'agent' | 'visitor', marks: Partial<Participant> = {}) {
	return {
		id,
		kind,
		displayName: kind === 'agent' ? `${id} (agent)` : `Visitor ${id}`,
		lastReadAt: null,
		lastDeliveredAt: null,
		isOnline: true,
		status: 'active',
		lastSeenAt: null,
		currentPage: null,
		version: 1,
		...marks
	} as Participant;
}

function message(id: string, senderId: string, createdAt: string, conversationId = 'k1') {
	return {
		id,
		conversationId,
		senderId,
		senderName: senderId,
		body: `body of ${id}`,
		createdAt
	} satisfies ChatMessage;
}

const T1 = '2024-05-01T10:00:00.000Z';
const T2 = '2024-05-01T10:01:00.000Z';
const T3 = '2024-05-01T10:02:00.000Z';

let connection: PresenceConnection | null = null;
afterEach(() => connection?.destroy());

/** A thread of conversation k1 between agent `ada` and visitor `vic`, on a live stream. */
async function openThread(init: Partial<MessageThreadInit> = {}) {
	const server: LocalServer = localServer();
	server.conversations.set('k1', {
		messages: [],
		participants: [person('ada', 'agent'), person('vic', 'visitor')],
		deliverTo: []
	});
	connection = new PresenceConnection(server.client);
	const thread = new MessageThread(connection, {
		viewerId: 'ada',
		conversationId: 'k1',
		participants: server.conversations.get('k1')!.participants,
		...init
	});
	thread.attach();
	connection.start();
	await vi.waitFor(() => expect(server.streams).toHaveLength(1));
	server.ready('c1');
	const live = connection;
	await vi.waitFor(() => expect(live.connected).toBe(true));
	return { server, thread };
}

describe('MessageThread', () => {
	it('shows each message once, in time order, and only its own conversation', async () => {
		const incoming: string[] = [];
		const { server, thread } = await openThread({
			messages: [message('m1', 'vic', T1), message('m3', 'vic', T3)],
			onIncoming: (m) => incoming.push(m.id)
		});
		server.send({ type: 'message', conversationId: 'k1', message: message('m2', 'vic', T2) });
		server.send({ type: 'message', conversationId: 'k1', message: message('m2', 'vic', T2) });
		server.send({
			type: 'message',
			conversationId: 'k2',
			message: message('x', 'vic', T2, 'k2')
		});
		server.send({ type: 'message', conversationId: 'k1', message: message('m4', 'ada', T3) });
		await vi.waitFor(() => expect(thread.messages).toHaveLength(4));
		expect(thread.messages.map((m) => m.id)).toEqual(['m1', 'm2', 'm3', 'm4']);
		// The reader's own message (from another tab) is not "incoming".
		expect(incoming).toEqual(['m2']);
	});

	it('moves the team’s message from Sent to Delivered to Read as the visitor gets it', async () => {
		const { server, thread } = await openThread({ messages: [message('m1', 'ada', T2)] });
		const sent = thread.messages[0]!;
		expect(thread.receipt(sent)).toBe('sent');
		server.send({ type: 'delivered', conversationId: 'k1', userId: 'vic', at: T2 });
		await vi.waitFor(() => expect(thread.receipt(sent)).toBe('delivered'));
		// Another conversation's read mark changes nothing here.
		server.send({ type: 'read', conversationId: 'k2', readerId: 'vic', at: T3 });
		server.send({ type: 'read', conversationId: 'k1', readerId: 'vic', at: T1 });
		server.send({ type: 'read', conversationId: 'k1', readerId: 'vic', at: T3 });
		await vi.waitFor(() => expect(thread.receipt(sent)).toBe('read'));
		expect(thread.participant('vic')?.lastReadAt).toBe(T3);
	});

	it('gives the visitor’s message the furthest any agent got', () => {
		const thread = new MessageThread(new PresenceConnection(localServer().client), {
			viewerId: 'vic',
			conversationId: 'k1',
			participants: [
				person('vic', 'visitor', { lastReadAt: T3 }),
				person('ada', 'agent', { lastDeliveredAt: T2 }),
				person('bob', 'agent')
			]
		});
		// The visitor's own read mark says nothing about their message.
		expect(thread.receipt(message('m1', 'vic', T3))).toBe('sent');
		expect(thread.receipt(message('m2', 'vic', T2))).toBe('delivered');
	});

	it('sends, and marks it delivered to those it was pushed to', async () => {
		const { server, thread } = await openThread();
		server.conversations.get('k1')!.deliverTo = ['vic'];
		await thread.send('Hello');
		expect(server.calls.filter((c) => c.path === 'messages.send')).toEqual([
			{ path: 'messages.send', input: { conversationId: 'k1', body: 'Hello' } }
		]);
		expect(thread.messages.map((m) => m.body)).toEqual(['Hello']);
		expect(thread.receipt(thread.messages[0]!)).toBe('delivered');
	});

	it('begins the conversation once on the first message, however many sends race to it', async () => {
		const { server, thread } = await openThread({
			viewerId: 'vic',
			conversationId: null,
			participants: [],
			begin: async () => (await connection!.client.widget.startConversation.mutate()).conversationId
		});
		expect(thread.conversationId).toBeNull();
		await Promise.all([thread.send('one'), thread.send('two')]);
		expect(server.calls.filter((c) => c.path === 'widget.startConversation')).toHaveLength(1);
		expect(thread.conversationId).not.toBeNull();
		expect(thread.messages.map((m) => m.body).toSorted()).toEqual(['one', 'two']);
	});

	it('refreshes without dropping what is shown, and loads older pages before it', async () => {
		const { server, thread } = await openThread({
			messages: [message('m60', 'vic', '2024-05-01T11:00:00.000Z')]
		});
		const older = Array.from({ length: 60 }, (_, i) =>
			message(`o${i}`, 'vic', `2024-05-01T10:${String(i).padStart(2, '0')}:00.000Z`)
		);
		server.conversations.get('k1')!.messages = older;
		await thread.refresh();
		// The newest 50 of the server, and the one shown that the server's page did not have.
		expect(thread.messages).toHaveLength(51);
		expect(thread.messages.at(-1)?.id).toBe('m60');

		const paged = new MessageThread(connection!, {
			viewerId: 'ada',
			conversationId: 'k1',
			messages: older.slice(10),
			nextCursor: '10'
		});
		await paged.loadOlder();
		expect(paged.messages.map((m) => m.id)).toEqual(older.map((m) => m.id));
		expect(paged.nextCursor).toBeNull();
		expect(paged.loadingOlder).toBe(false);
	});

	it('says who types here until their message arrives', async () => {
		const { server, thread } = await openThread();
		server.send({ type: 'typing', conversationId: 'k2', userId: 'bob', typing: true });
		server.send({ type: 'typing', conversationId: 'k1', userId: 'vic', typing: true });
		await vi.waitFor(() => expect(thread.typing).toEqual(['vic']));
		thread.reportTyping();
		await vi.waitFor(() =>
			expect(server.calls.filter((c) => c.path === 'typing')).toEqual([
				{ path: 'typing', input: { connectionId: 'c1', conversationId: 'k1' } }
			])
		);
		server.send({ type: 'message', conversationId: 'k1', message: message('m1', 'vic', T1) });
		await vi.waitFor(() => expect(thread.typing).toEqual([]));
	});
});

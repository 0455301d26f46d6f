import { describe, expect, it } from 'vitest';
import type { ConversationSummary, ChatMessage } from '$lib/contract';
import { InboxState } from './inbox.svelte';

function conversation(id: string, lastMessageAt: string | null, unread = 0): ConversationSummary {
	return {
		id,
		cursor: `cursor-${id}`,
		createdAt: '2024-05-01T08:00:00.000Z',
		lastMessageAt,
		unread,
		visitor: {
			id: `v-${id}`,
			displayName: `Visitor ${id}`,
			userId: `v-${id}`,
			isOnline: false,
			status: 'offline',
			focusConversationId: null,
			lastSeenAt: null,
			currentPage: null,
			version: 0
		},
		lastMessage: null
	};
}

function message(conversationId: string, senderId: string, createdAt: string): ChatMessage {
	return {
		id: `${conversationId}-${createdAt}`,
		conversationId,
		senderId,
		senderName: senderId,
		body: 'hello',
		createdAt
	};
}

describe('InboxState', () => {
	it('moves a conversation with a new message to the top and counts it unread', () => {
		const inbox = new InboxState([
			conversation('a', '2024-05-01T10:00:00.000Z'),
			conversation('b', '2024-05-01T09:00:00.000Z')
		]);
		expect(inbox.conversations.map((c) => c.id)).toEqual(['a', 'b']);
		inbox.onMessage(message('b', 'v-b', '2024-05-01T11:00:00.000Z'), 'me', null);
		expect(inbox.conversations.map((c) => c.id)).toEqual(['b', 'a']);
		expect(inbox.conversations[0]!.unread).toBe(1);
		expect(inbox.conversations[0]!.lastMessage?.body).toBe('hello');
		expect(inbox.unreadTotal).toBe(1);
	});

	it('does not count own messages or the conversation being read', () => {
		const inbox = new InboxState([conversation('a', null)]);
		inbox.onMessage(message('a', 'me', '2024-05-01T11:00:00.000Z'), 'me', null);
		inbox.onMessage(message('a', 'v-a', '2024-05-01T11:01:00.000Z'), 'me', 'a');
		expect(inbox.conversations[0]!.unread).toBe(0);
	});

	it('clears the count when the agent reads, not when someone else does', () => {
		const inbox = new InboxState([conversation('a', null, 3)]);
		inbox.onRead('a', 'v-a', 'me');
		expect(inbox.conversations[0]!.unread).toBe(3);
		inbox.onRead('a', 'me', 'me');
		expect(inbox.conversations[0]!.unread).toBe(0);
	});

	it('reports a message for a conversation it does not have (the list must be refetched)', () => {
		const inbox = new InboxState([]);
		expect(inbox.onMessage(message('x', 'v', '2024-05-01T11:00:00.000Z'), 'me', null)).toBe(false);
	});
});

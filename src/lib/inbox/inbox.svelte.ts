import type { ConversationSummary } from '$lib/api-types';
import type { ChatMessage } from '$lib/events';

/**
 * The agent's conversation list, patched in place from stream events (docs/design.md §3): a
 * message moves its conversation to the top and counts as unread unless it is the agent's own
 * or the conversation is open in front of them; a read by the agent clears the count.
 */
export class InboxState {
	#conversations = $state<ConversationSummary[]>([]);

	constructor(conversations: ConversationSummary[] = []) {
		this.#conversations = sorted(conversations);
	}

	get conversations(): ConversationSummary[] {
		return this.#conversations;
	}

	get unreadTotal() {
		return this.#conversations.reduce((sum, c) => sum + c.unread, 0);
	}

	/** Replaces the list (first load, or a refetch when a new conversation arrives). */
	load(conversations: ConversationSummary[]) {
		this.#conversations = sorted(conversations);
	}

	has(conversationId: string) {
		return this.#conversations.some((c) => c.id === conversationId);
	}

	/** A message in one of the agent's conversations; returns false when the list does not have it. */
	onMessage(message: ChatMessage, meId: string, openConversationId: string | null): boolean {
		const conversation = this.#conversations.find((c) => c.id === message.conversationId);
		if (!conversation) return false;
		if (conversation.lastMessage?.id === message.id) return true;
		conversation.lastMessage = {
			id: message.id,
			body: message.body,
			senderId: message.senderId,
			createdAt: message.createdAt
		};
		conversation.lastMessageAt = message.createdAt;
		if (message.senderId !== meId && message.conversationId !== openConversationId) {
			conversation.unread += 1;
		}
		this.#conversations = sorted(this.#conversations);
		return true;
	}

	/** Someone read a conversation: when it was the agent, nothing there is unread any more. */
	onRead(conversationId: string, readerId: string, meId: string) {
		if (readerId !== meId) return;
		const conversation = this.#conversations.find((c) => c.id === conversationId);
		if (conversation) conversation.unread = 0;
	}
}

function activity(c: ConversationSummary) {
	return c.lastMessageAt ?? c.createdAt;
}

function sorted(list: ConversationSummary[]) {
	return [...list].sort((a, b) => activity(b).localeCompare(activity(a)));
}

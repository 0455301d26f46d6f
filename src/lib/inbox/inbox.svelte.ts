import type { ConversationSummary, ChatMessage } from '$lib/contract';

/**
 * The agent's conversation list, patched in place from stream events (docs/design.md §3): a
 * message moves its conversation to the top and counts as unread unless it is the agent's own
 * or the conversation is open in front of them; a read by the agent clears the count.
 */
/** The list's search box and filter (`conversations.list`'s input). */
export interface ListQuery {
	search: string;
	filter: 'all' | 'online' | 'unread' | 'mine';
}

/** What the server sends per page unless asked otherwise (`CONVERSATION_PAGE`). */
export const PAGE_SIZE = 50;

export class InboxState {
	#conversations = $state<ConversationSummary[]>([]);
	/** A full page came back: there may be more ("Load more"). */
	#hasMore = $state(false);
	query = $state<ListQuery>({ search: '', filter: 'all' });

	constructor(conversations: ConversationSummary[] = []) {
		this.#conversations = sorted(conversations);
		this.#hasMore = conversations.length >= PAGE_SIZE;
	}

	get hasMore() {
		return this.#hasMore;
	}

	/** The list's input for the current query, from its start or after `cursor`. */
	input(cursor?: string) {
		const search = this.query.search.trim();
		return {
			...(search ? { search } : {}),
			...(this.query.filter !== 'all' ? { filter: this.query.filter } : {}),
			...(cursor ? { cursor } : {})
		};
	}

	/** The cursor after the last conversation shown (the next page starts there). */
	get cursor(): string | undefined {
		return this.#conversations.at(-1)?.cursor;
	}

	/** The next page, below what is shown (one already shown, patched meanwhile, is kept). */
	append(page: ConversationSummary[]) {
		// A plain lookup for this call, not state.
		// eslint-disable-next-line svelte/prefer-svelte-reactivity
		const known = new Set(this.#conversations.map((c) => c.id));
		this.#conversations = [...this.#conversations, ...page.filter((c) => !known.has(c.id))];
		this.#hasMore = page.length >= PAGE_SIZE;
	}

	/** A visitor went offline while the list shows "online now" only. */
	dropVisitor(visitorId: string) {
		this.#conversations = this.#conversations.filter((c) => c.visitor.id !== visitorId);
	}

	hasVisitor(visitorId: string) {
		return this.#conversations.some((c) => c.visitor.id === visitorId);
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
		this.#hasMore = conversations.length >= PAGE_SIZE;
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

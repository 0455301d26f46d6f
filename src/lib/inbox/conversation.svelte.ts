import type { ChatMessage, Participant } from '$lib/api-types';
import { receiptOf, type Receipt } from '$lib/receipts';

export interface PreviewImage {
	dataUrl: string;
	at: string;
	/** The page it shows (null for a preview stored without one). */
	page: { url: string; title: string } | null;
}

/**
 * One open conversation: its messages and participants as loaded, then patched from stream
 * events (a new message, a read mark). Created anew when the page's data changes.
 */
export class ConversationView {
	readonly id: string;
	#messages = $state<ChatMessage[]>([]);
	#participants = $state<Participant[]>([]);
	#nextCursor = $state<string | null>(null);
	preview = $state<PreviewImage | null>(null);

	constructor(data: {
		conversationId: string;
		messages: ChatMessage[];
		participants: Participant[];
		nextCursor: string | null;
	}) {
		this.id = data.conversationId;
		this.#messages = [...data.messages];
		this.#participants = data.participants.map((p) => ({ ...p }));
		this.#nextCursor = data.nextCursor;
	}

	get messages() {
		return this.#messages;
	}

	get participants() {
		return this.#participants;
	}

	get nextCursor() {
		return this.#nextCursor;
	}

	get visitor() {
		return this.#participants.find((p) => p.kind === 'visitor') ?? null;
	}

	get agents() {
		return this.#participants.filter((p) => p.kind === 'agent');
	}

	participant(id: string) {
		return this.#participants.find((p) => p.id === id);
	}

	/** Adds a message once (the sender's own comes back both from `send` and from the stream). */
	addMessage(message: ChatMessage) {
		if (message.conversationId !== this.id) return;
		if (this.#messages.some((m) => m.id === message.id)) return;
		const at = this.#messages.findLastIndex((m) => m.createdAt <= message.createdAt);
		this.#messages.splice(at + 1, 0, message);
	}

	/** Older messages (newest first from the API) go before what is shown. */
	prepend(older: ChatMessage[], nextCursor: string | null) {
		const known = this.#messages.map((m) => m.id);
		this.#messages.unshift(...older.filter((m) => !known.includes(m.id)).toReversed());
		this.#nextCursor = nextCursor;
	}

	/** `userId` got everything up to `at` (a `delivered` event, or a message pushed to them). */
	onDelivered(userId: string, at: string) {
		const participant = this.#participants.find((p) => p.id === userId);
		if (participant && (!participant.lastDeliveredAt || participant.lastDeliveredAt < at)) {
			participant.lastDeliveredAt = at;
		}
	}

	/** A message arrived or was sent: add it, and move the marks of those it was pushed to. */
	onMessage(message: ChatMessage, deliveredTo: readonly string[] = []) {
		if (message.conversationId !== this.id) return;
		this.addMessage(message);
		for (const userId of deliveredTo) this.onDelivered(userId, message.createdAt);
	}

	onRead(readerId: string, at: string) {
		const participant = this.#participants.find((p) => p.id === readerId);
		if (participant && (!participant.lastReadAt || participant.lastReadAt < at)) {
			participant.lastReadAt = at;
		}
	}

	/** Sent → Delivered → Read, as far as the visitor is concerned (agents' messages). */
	receiptForVisitor(message: ChatMessage): Receipt {
		return receiptOf(message.createdAt, this.visitor);
	}
}

import type { ChatMessage, Participant } from '../contract';
import type { PresenceConnection } from '../presence/presence-connection.svelte';
import { receiptOf, type Receipt } from '../receipts';

export interface MessageThreadInit {
	/** Who reads this thread (the agent in the inbox, the visitor in the widget). */
	viewerId: string;
	/** The conversation, or null while a visitor only browses: the first message begins it. */
	conversationId: string | null;
	/** Oldest first. */
	messages?: readonly ChatMessage[];
	participants?: readonly Participant[];
	/** Where older messages begin (`messages.list`), or null when all are loaded. */
	nextCursor?: string | null;
	/** Begins the conversation on the first message (the widget's `widget.startConversation`). */
	begin?: () => Promise<string>;
	/** A message from someone else arrived on the stream (called once per message). */
	onIncoming?: (message: ChatMessage) => void;
	/** `refresh` loaded the thread anew (the participants' read marks among it). */
	onRefreshed?: () => void;
}

/**
 * One conversation as its reader sees it, in the inbox and in the widget alike: the messages,
 * the participants with their delivered and read marks, who types, and sending. Loaded once,
 * then patched from the tab's presence stream (docs/design.md §5, delivery); every call goes
 * through the connection's client.
 */
export class MessageThread {
	readonly viewerId: string;
	#connection: PresenceConnection;
	#init: MessageThreadInit;
	#conversationId = $state<string | null>(null);
	#messages = $state<ChatMessage[]>([]);
	#participants = $state<Participant[]>([]);
	#nextCursor = $state<string | null>(null);
	#loadingOlder = $state(false);
	#beginning: Promise<string> | null = null;

	constructor(connection: PresenceConnection, init: MessageThreadInit) {
		this.#connection = connection;
		this.#init = init;
		this.viewerId = init.viewerId;
		this.#conversationId = init.conversationId;
		this.#messages = [...(init.messages ?? [])];
		this.#participants = (init.participants ?? []).map((p) => ({ ...p }));
		this.#nextCursor = init.nextCursor ?? null;
	}

	get conversationId(): string | null {
		return this.#conversationId;
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

	get loadingOlder() {
		return this.#loadingOlder;
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

	/** Who is typing here now (never the viewer), as the stream says. */
	get typing(): string[] {
		return this.#conversationId === null ? [] : this.#connection.typing.in(this.#conversationId);
	}

	/**
	 * Follows the stream: new messages, delivered and read marks of this conversation. Returns
	 * the function that stops it (the connection's `destroy` stops it too).
	 */
	attach(): () => void {
		const off = [
			this.#connection.on('message', (event) => {
				if (event.conversationId !== this.#conversationId) return;
				const { message } = event;
				if (this.#add(message) && message.senderId !== this.viewerId) {
					this.#init.onIncoming?.(message);
				}
				this.#delivered(event.deliveredTo ?? [], message.createdAt);
			}),
			this.#connection.on('delivered', (event) => {
				if (event.conversationId === this.#conversationId)
					this.#delivered([event.userId], event.at);
			}),
			this.#connection.on('read', (event) => {
				if (event.conversationId !== this.#conversationId) return;
				const participant = this.participant(event.readerId);
				if (participant && (!participant.lastReadAt || participant.lastReadAt < event.at)) {
					participant.lastReadAt = event.at;
				}
			})
		];
		return () => off.forEach((stop) => stop());
	}

	/** A conversation was started for a thread that had none (an agent wrote to a browsing visitor). */
	open(conversationId: string) {
		if (this.#conversationId !== null) return;
		this.#conversationId = conversationId;
		void this.refresh();
	}

	/**
	 * Loads the newest messages and the participants anew (after a reconnect, or when the server
	 * may have missed events): merged with what is shown, so nothing already shown disappears.
	 */
	async refresh() {
		const conversationId = this.#conversationId;
		if (conversationId !== null) {
			const client = this.#connection.client;
			const [page, participants] = await Promise.all([
				client.messages.list.query({ conversationId }),
				client.conversations.participants.query({ conversationId })
			]);
			// A plain merge table, not state.
			// eslint-disable-next-line svelte/prefer-svelte-reactivity
			const known = new Map(this.#messages.map((m) => [m.id, m]));
			for (const m of page.messages) known.set(m.id, m);
			this.#messages = [...known.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
			this.#participants = participants;
		}
		this.#init.onRefreshed?.();
	}

	/** The page of messages before the oldest shown (newest first from the API). */
	async loadOlder() {
		const conversationId = this.#conversationId;
		const cursor = this.#nextCursor;
		if (conversationId === null || !cursor) return;
		this.#loadingOlder = true;
		try {
			const page = await this.#connection.client.messages.list.query({ conversationId, cursor });
			const known = this.#messages.map((m) => m.id);
			this.#messages.unshift(...page.messages.filter((m) => !known.includes(m.id)).toReversed());
			this.#nextCursor = page.nextCursor;
		} finally {
			this.#loadingOlder = false;
		}
	}

	/** Sends a message, beginning the conversation first when there is none yet. */
	async send(body: string) {
		const conversationId = await this.#ensureConversation();
		await this.#connection.settleTyping(conversationId);
		const { message, deliveredTo } = await this.#connection.client.messages.send.mutate({
			conversationId,
			body
		});
		this.#connection.sentMessage(conversationId);
		this.#add(message);
		this.#delivered(deliveredTo, message.createdAt);
	}

	/** The viewer typed in the composer (the connection spaces the calls; the server ends it). */
	reportTyping() {
		if (this.#conversationId !== null) this.#connection.reportTyping(this.#conversationId);
	}

	/** The viewer has the conversation open and visible: everything in it is read. */
	async markRead() {
		if (this.#conversationId === null) return;
		await this.#connection.client.messages.markRead.mutate({
			conversationId: this.#conversationId
		});
	}

	/**
	 * Sent → Delivered → Read of a message, for its sender: the furthest anyone on the other side
	 * got (the visitor, for the team's messages; any agent, for the visitor's).
	 */
	receipt(message: ChatMessage): Receipt {
		const fromVisitor = this.participant(message.senderId)?.kind === 'visitor';
		const readers = this.#participants.filter((p) => (p.kind === 'visitor') !== fromVisitor);
		let best: Receipt = 'sent';
		for (const reader of readers) {
			const receipt = receiptOf(message.createdAt, reader);
			if (receipt === 'read') return receipt;
			if (receipt === 'delivered') best = receipt;
		}
		return best;
	}

	/** The conversation, begun on the first message: one call however many sends race to it. */
	async #ensureConversation(): Promise<string> {
		if (this.#conversationId !== null) return this.#conversationId;
		const begin = this.#init.begin;
		if (!begin) throw new Error('This thread has no conversation to send to');
		this.#beginning ??= begin()
			.then(async (conversationId) => {
				this.#conversationId = conversationId;
				await this.refresh();
				return conversationId;
			})
			.finally(() => {
				this.#beginning = null;
			});
		return this.#beginning;
	}

	#delivered(userIds: readonly string[], at: string) {
		for (const participant of this.#participants) {
			if (!userIds.includes(participant.id)) continue;
			if (!participant.lastDeliveredAt || participant.lastDeliveredAt < at) {
				participant.lastDeliveredAt = at;
			}
		}
	}

	/** Adds a message once (the sender's own comes back both from `send` and from the stream). */
	#add(message: ChatMessage): boolean {
		if (message.conversationId !== this.#conversationId) return false;
		if (this.#messages.some((m) => m.id === message.id)) return false;
		const at = this.#messages.findLastIndex((m) => m.createdAt <= message.createdAt);
		this.#messages.splice(at + 1, 0, message);
		return true;
	}
}

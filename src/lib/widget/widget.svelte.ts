import type { ChatMessage, Participant } from '../api-types';
import type { PresenceClient } from '../client';
import { receiptOf, type Receipt } from '../receipts';
import { codeOf, PresenceConnection } from '../presence/presence.svelte';
import { createVisitorClient } from './visitor-client';

export const VISITOR_TOKEN_KEY = 'presence.visitorToken';

export interface VisitorSession {
	visitorToken: string;
	visitorId: string;
	/** Null until the visitor writes (or an agent starts a conversation with them). */
	conversationId: string | null;
	displayName: string;
}

/** Storage for the visitor token (localStorage in the browser; swappable in tests). */
export interface TokenStorage {
	get(): string | null;
	set(token: string): void;
	clear(): void;
}

export const localTokenStorage: TokenStorage = {
	get: () => localStorage.getItem(VISITOR_TOKEN_KEY),
	set: (token) => localStorage.setItem(VISITOR_TOKEN_KEY, token),
	clear: () => localStorage.removeItem(VISITOR_TOKEN_KEY)
};

export const CHAT_OPEN_KEY = 'presence.chatOpen';

/**
 * Whether the chat panel is open, kept per tab (sessionStorage): a page load in the same tab
 * (a reload, a link to a page outside the SPA) shows the chat as the visitor left it, as common
 * chat widgets do; a new tab starts closed. Storage may be unavailable (privacy modes): closed.
 */
export const chatOpenStorage = {
	get(): boolean {
		try {
			return sessionStorage.getItem(CHAT_OPEN_KEY) === 'open';
		} catch {
			return false;
		}
	},
	set(open: boolean) {
		try {
			if (open) sessionStorage.setItem(CHAT_OPEN_KEY, 'open');
			else sessionStorage.removeItem(CHAT_OPEN_KEY);
		} catch {
			// Not kept: the next page load starts closed, and reports so.
		}
	}
};

/**
 * `widget.session`: resumes the stored visitor, or starts a new one when there is none or the
 * stored token is refused (UNAUTHORIZED: expired, tampered, another workspace).
 */
export async function startVisitorSession(
	workspaceKey: string,
	storage: TokenStorage,
	publicClient: PresenceClient = createVisitorClient(null)
): Promise<VisitorSession> {
	const stored = storage.get();
	let session: VisitorSession;
	try {
		session = await publicClient.widget.session.mutate({
			workspaceKey,
			visitorToken: stored ?? undefined
		});
	} catch (error) {
		if (!stored || codeOf(error) !== 'UNAUTHORIZED') throw error;
		storage.clear();
		session = await publicClient.widget.session.mutate({ workspaceKey });
	}
	storage.set(session.visitorToken);
	return session;
}

/**
 * The visitor's side of the chat: session, one presence stream, messages and read marks.
 * UI wishes (panel open, page, preview) are handled by the widget component.
 */
export class VisitorChat {
	readonly session: VisitorSession;
	readonly client: PresenceClient;
	readonly connection: PresenceConnection;

	#messages = $state<ChatMessage[]>([]);
	#participants = $state<Participant[]>([]);
	#loaded = $state(false);
	#unread = $state(0);
	#conversationId = $state<string | null>(null);
	#starting: Promise<string> | null = null;
	/** True while the visitor is looking at the chat (panel open, tab visible). */
	reading = false;

	constructor(session: VisitorSession, options: { onUnauthorized?: () => void } = {}) {
		this.session = session;
		this.#conversationId = session.conversationId;
		this.client = createVisitorClient(session.visitorToken);
		this.connection = new PresenceConnection(this.client, {
			onUnauthorized: options.onUnauthorized
		});
		this.connection.on('message', (event) => {
			if (event.conversationId !== this.#conversationId) return;
			if (
				this.#add(event.message) &&
				event.message.senderId !== session.visitorId &&
				!this.reading
			) {
				this.#unread += 1;
			}
			this.#delivered(event.deliveredTo ?? [], event.message.createdAt);
		});
		this.connection.on('delivered', (event) => {
			if (event.conversationId === this.#conversationId) this.#delivered([event.userId], event.at);
		});
		this.connection.on('read', (event) => {
			if (event.conversationId !== this.#conversationId) return;
			const participant = this.#participants.find((p) => p.id === event.readerId);
			if (participant && (!participant.lastReadAt || participant.lastReadAt < event.at)) {
				participant.lastReadAt = event.at;
			}
		});
		// An agent started a conversation with this browsing visitor from the visitors list.
		this.connection.on('conversation', (event) => {
			if (this.#conversationId !== null || event.visitorId !== session.visitorId) return;
			this.#conversationId = event.conversationId;
			void this.refresh();
		});
		// Each (re)connection: catch up on what may have been missed while away.
		this.connection.on('ready', () => void this.refresh());
		// The server may have missed events meant for this visitor (Redis was away).
		this.connection.on('resync', () => void this.refresh());
	}

	get messages() {
		return this.#messages;
	}

	/** The visitor's conversation, or null while they only browse (none is made before they write). */
	get conversationId(): string | null {
		return this.#conversationId;
	}

	get agents() {
		return this.#participants.filter((p) => p.kind === 'agent');
	}

	get loaded() {
		return this.#loaded;
	}

	/** The agents typing in this conversation now, by name ("Ada is typing…"). */
	get typingNames(): string[] {
		if (this.#conversationId === null) return [];
		const ids = this.connection.typing.in(this.#conversationId);
		return ids.map(
			(id) =>
				this.#participants.find((p) => p.id === id)?.displayName.replace(/\s*\(agent\)$/, '') ??
				'Someone'
		);
	}

	/** The visitor typed in the composer (the connection spaces the calls; the server ends it). */
	reportTyping() {
		if (this.#conversationId !== null) this.connection.reportTyping(this.#conversationId);
	}

	get unread() {
		return this.#unread;
	}

	/** Sent → Delivered → Read of one of the visitor's messages: the furthest any agent got. */
	receiptOf(message: ChatMessage): Receipt {
		let best: Receipt = 'sent';
		for (const agent of this.agents) {
			const receipt = receiptOf(message.createdAt, agent);
			if (receipt === 'read') return receipt;
			if (receipt === 'delivered') best = receipt;
		}
		return best;
	}

	start() {
		this.connection.start();
	}

	destroy() {
		this.connection.destroy();
	}

	markSeen() {
		this.#unread = 0;
	}

	async refresh() {
		const conversationId = this.#conversationId;
		if (conversationId === null) {
			this.#loaded = true;
			return;
		}
		const [page, participants] = await Promise.all([
			this.client.messages.list.query({ conversationId }),
			this.client.conversations.participants.query({ conversationId })
		]);
		// A plain merge table, not state.
		// eslint-disable-next-line svelte/prefer-svelte-reactivity
		const known = new Map(this.#messages.map((m) => [m.id, m]));
		for (const m of page.messages) known.set(m.id, m);
		this.#messages = [...known.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
		this.#participants = participants;
		const me = participants.find((p) => p.id === this.session.visitorId);
		this.#unread = this.reading
			? 0
			: this.#messages.filter(
					(m) =>
						m.senderId !== this.session.visitorId &&
						(!me?.lastReadAt || m.createdAt > me.lastReadAt)
				).length;
		this.#loaded = true;
	}

	/** The conversation, begun on the first message: one call however many sends race to it. */
	async #ensureConversation(): Promise<string> {
		if (this.#conversationId !== null) return this.#conversationId;
		this.#starting ??= this.client.widget.startConversation
			.mutate()
			.then(async ({ conversationId }) => {
				this.#conversationId = conversationId;
				await this.refresh();
				return conversationId;
			})
			.finally(() => {
				this.#starting = null;
			});
		return this.#starting;
	}

	async send(body: string) {
		const conversationId = await this.#ensureConversation();
		await this.connection.settleTyping(conversationId);
		const { message, deliveredTo } = await this.client.messages.send.mutate({
			conversationId,
			body
		});
		this.connection.sentMessage(conversationId);
		this.#add(message);
		this.#delivered(deliveredTo, message.createdAt);
	}

	#delivered(userIds: readonly string[], at: string) {
		for (const participant of this.#participants) {
			if (!userIds.includes(participant.id)) continue;
			if (!participant.lastDeliveredAt || participant.lastDeliveredAt < at) {
				participant.lastDeliveredAt = at;
			}
		}
	}

	#add(message: ChatMessage): boolean {
		if (this.#messages.some((m) => m.id === message.id)) return false;
		const at = this.#messages.findLastIndex((m) => m.createdAt <= message.createdAt);
		this.#messages.splice(at + 1, 0, message);
		return true;
	}
}

import type { ChatMessage, Participant } from '../api-types';
import type { PresenceClient } from '../client';
import { codeOf, PresenceConnection } from '../presence/presence.svelte';
import { createVisitorClient } from './visitor-client';

export const VISITOR_TOKEN_KEY = 'presence.visitorToken';

export interface VisitorSession {
	visitorToken: string;
	visitorId: string;
	conversationId: string;
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
	/** True while the visitor is looking at the chat (panel open, tab visible). */
	reading = false;

	constructor(session: VisitorSession, options: { onUnauthorized?: () => void } = {}) {
		this.session = session;
		this.client = createVisitorClient(session.visitorToken);
		this.connection = new PresenceConnection(this.client, {
			onUnauthorized: options.onUnauthorized
		});
		this.connection.on('message', (event) => {
			if (event.conversationId !== session.conversationId) return;
			if (
				this.#add(event.message) &&
				event.message.senderId !== session.visitorId &&
				!this.reading
			) {
				this.#unread += 1;
			}
		});
		this.connection.on('read', (event) => {
			if (event.conversationId !== session.conversationId) return;
			const participant = this.#participants.find((p) => p.id === event.readerId);
			if (participant && (!participant.lastReadAt || participant.lastReadAt < event.at)) {
				participant.lastReadAt = event.at;
			}
		});
		// Each (re)connection: catch up on what may have been missed while away.
		this.connection.on('ready', () => void this.refresh());
		// The server may have missed events meant for this visitor (Redis was away).
		this.connection.on('resync', () => void this.refresh());
	}

	get messages() {
		return this.#messages;
	}

	get agents() {
		return this.#participants.filter((p) => p.kind === 'agent');
	}

	get loaded() {
		return this.#loaded;
	}

	get unread() {
		return this.#unread;
	}

	/** The visitor's latest message an agent has read ("Read" mark), or null. */
	get lastReadOwnId(): string | null {
		const agents = this.agents;
		const mine = this.#messages.filter((m) => m.senderId === this.session.visitorId);
		return (
			mine.findLast((m) => agents.some((a) => a.lastReadAt !== null && a.lastReadAt >= m.createdAt))
				?.id ?? null
		);
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
		const conversationId = this.session.conversationId;
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

	async send(body: string) {
		const { message } = await this.client.messages.send.mutate({
			conversationId: this.session.conversationId,
			body
		});
		this.#add(message);
	}

	#add(message: ChatMessage): boolean {
		if (this.#messages.some((m) => m.id === message.id)) return false;
		const at = this.#messages.findLastIndex((m) => m.createdAt <= message.createdAt);
		this.#messages.splice(at + 1, 0, message);
		return true;
	}
}

import type { PresenceClient } from '../client';
import { PresenceConnection } from '../presence/presence-connection.svelte';
import { MessageThread } from '../thread/message-thread.svelte';
import { createVisitorClient } from './visitor-client';
import type { VisitorSession } from './visitor-session';

/** An agent as the widget names them ("Ada", not "Ada (agent)"). */
export function agentName(displayName: string) {
	return displayName.replace(/\s*\(agent\)$/, '');
}

/**
 * The visitor's side of the chat: session, one presence stream, the thread and its unread
 * count. UI wishes (panel open, page, preview) are handled by the widget component.
 */
export class VisitorChat {
	readonly session: VisitorSession;
	readonly client: PresenceClient;
	readonly connection: PresenceConnection;
	readonly thread: MessageThread;

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
		this.thread = new MessageThread(this.connection, {
			viewerId: session.visitorId,
			conversationId: session.conversationId,
			begin: async () => (await this.client.widget.startConversation.mutate()).conversationId,
			onIncoming: () => {
				if (!this.reading) this.#unread += 1;
			},
			onRefreshed: () => this.#countUnread()
		});
		this.thread.attach();
		// An agent started a conversation with this browsing visitor from the visitors list.
		this.connection.on('conversation', (event) => {
			if (event.visitorId === session.visitorId) this.thread.open(event.conversationId);
		});
		// Each (re)connection: catch up on what may have been missed while away.
		this.connection.on('ready', () => void this.thread.refresh());
		// The server may have missed events meant for this visitor (Redis was away).
		this.connection.on('resync', () => void this.thread.refresh());
	}

	get loaded() {
		return this.#loaded;
	}

	get unread() {
		return this.#unread;
	}

	/** The agents typing in this conversation now, by name ("Ada is typing…"). */
	get typingNames(): string[] {
		return this.thread.typing.map((id) => {
			const agent = this.thread.participant(id);
			return agent ? agentName(agent.displayName) : 'Someone';
		});
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

	/** After a load: what the visitor has not read yet, by their own read mark. */
	#countUnread() {
		const { messages } = this.thread;
		const me = this.thread.participant(this.session.visitorId);
		if (this.thread.conversationId !== null) {
			this.#unread = this.reading
				? 0
				: messages.filter(
						(m) =>
							m.senderId !== this.session.visitorId &&
							(!me?.lastReadAt || m.createdAt > me.lastReadAt)
					).length;
		}
		this.#loaded = true;
	}
}

/**
 * The types of the public contract (docs/design.md §4) shared by server, inbox and other clients.
 * Dates travel as ISO strings (no transformer), so any client can read them without superjson.
 */

/** Relative to the viewer: `online` = chatting with the viewer (focused on a shared conversation). */
export type PresenceStatus = 'online' | 'active' | 'offline';

/** An agent's own say on whether they take conversations (`presence.setAvailability`). */
export const AVAILABILITIES = ['available', 'busy', 'away'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

export interface CurrentPage {
	url: string;
	title: string;
}

export interface PresenceUpdate {
	userId: string;
	isOnline: boolean;
	status: PresenceStatus;
	focusConversationId: string | null;
	/** ISO timestamp, or null if never seen. */
	lastSeenAt: string | null;
	/** Visitors only, and only while online. */
	currentPage: CurrentPage | null;
	/** Only grows per person; drop an update whose version is not newer than the one held. */
	version: number;
	/**
	 * ISO timestamp while online and every tab of the person went without input for
	 * PRESENCE_IDLE_AFTER_MS (when the last of them went idle); null otherwise. Absent from
	 * servers before issue 13.
	 */
	idleSince?: string | null;
	/**
	 * Agents: available, busy or away (stored, so it survives reconnects and restarts); null for
	 * visitors. A live change may carry null for an agent when the server's presence backend lost
	 * its copy: keep the last known value then. Absent from servers before issue 13.
	 */
	availability?: Availability | null;
}

/** The presence fields every API that returns a person carries. */
export type PresenceFields = Pick<
	PresenceUpdate,
	'isOnline' | 'status' | 'lastSeenAt' | 'currentPage' | 'version' | 'idleSince' | 'availability'
>;

export interface ChatMessage {
	id: string;
	conversationId: string;
	senderId: string;
	senderName: string;
	body: string;
	/** ISO timestamp. */
	createdAt: string;
}

export type StreamEvent =
	| {
			type: 'ready';
			connectionId: string;
			snapshot: PresenceUpdate[];
			/** Send `presence.heartbeat` this often (the server's PRESENCE_HEARTBEAT_INTERVAL_MS). */
			heartbeatIntervalMs: number;
			/** Report `presence.idle` after this long without input in the tab (PRESENCE_IDLE_AFTER_MS). */
			idleAfterMs?: number;
			/** Visitors: whether the team is there now (see the `team` event). */
			teamOnline?: boolean;
	  }
	/**
	 * Instead of `ready`, when the client came back with a last event id the server could resume
	 * from: the events it missed follow, and the store it holds stays valid. The connection is new.
	 */
	| { type: 'resumed'; connectionId: string; heartbeatIntervalMs: number; idleAfterMs?: number }
	| ({ type: 'presence' } & PresenceUpdate)
	/**
	 * The server may have missed events meant for this stream (Redis was away, a publish failed):
	 * refetch what is shown (lists, the open conversation). Presence itself converges by deltas.
	 */
	| { type: 'resync' }
	| {
			type: 'message';
			conversationId: string;
			message: ChatMessage;
			/** Recipients it was pushed to (a live connection when it was sent): "Delivered" to them. */
			deliveredTo?: string[];
	  }
	| { type: 'read'; conversationId: string; readerId: string; at: string }
	/** Every message of the conversation up to `at` reached `userId` (they came back and loaded it). */
	| { type: 'delivered'; conversationId: string; userId: string; at: string }
	/** A visitor sent a new page preview: fetch it with `presence.previewImage`. */
	| { type: 'preview'; userId: string; at: string; page?: CurrentPage | null }
	/**
	 * `userId` started or stopped typing in `conversationId` (the server ends it by itself when the
	 * typist goes quiet for TYPING_TTL_MS, closes the tab, or sends). Only to that conversation's
	 * other participants.
	 */
	| { type: 'typing'; conversationId: string; userId: string; typing: boolean }
	/**
	 * Visitors only: whether at least one agent of the workspace is online and available ("We're
	 * online") or none is ("We'll get back to you"). Sent when that flips; no agent is named.
	 */
	| { type: 'team'; online: boolean }
	/** A new conversation the receiver takes part in (a new visitor arrived). */
	| { type: 'conversation'; conversationId: string; visitorId: string };

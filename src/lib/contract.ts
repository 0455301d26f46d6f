import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './client';

/**
 * The public contract (docs/design.md §4) in one place, shared by the server, the inbox, the
 * widget and other clients: the names on the wire (cookie, header, preview spacing), the stream's
 * events and the people in them, and what the procedures return. Dates travel as ISO strings (no
 * transformer), so any client can read them without superjson.
 */

// ---- Names shared by the server and every client

/** The agent session cookie (HttpOnly, SameSite=Lax, signed). */
export const SESSION_COOKIE = 'presence_session';

/**
 * Page previews (README: choices): a fresh page gets its capture as soon as the last one is
 * `PREVIEW_PAGE_GAP_MS` old; the same page again only after `PREVIEW_SAME_PAGE_MS`. Earlier
 * captures are answered `stored: false` with when to try again, not refused: a reload must not
 * log errors. Past `preview` in the rate limits (a client ignoring the answers) it is a 429.
 */
export const PREVIEW_SAME_PAGE_MS = 30_000;
export const PREVIEW_PAGE_GAP_MS = 5_000;

/** The visitor token on queries and mutations; on SSE it is the `visitorToken` connection param. */
export const VISITOR_TOKEN_HEADER = 'x-visitor-token';

// ---- Presence and the stream's events

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

// ---- What the procedures return, for the pages that keep and patch it

export type RouterOutputs = inferRouterOutputs<AppRouter>;

export type ConversationSummary = RouterOutputs['conversations']['list'][number];
export type OnlineVisitor = RouterOutputs['visitors']['online'][number];
export type Participant = RouterOutputs['conversations']['participants'][number];
export type AgentProfile = RouterOutputs['auth']['me'];

import type { ChatMessage } from '../../lib/contract';

/**
 * Workspace events other than presence (messages, read marks, new conversations, previews),
 * carried to every node on the workspace's channel. `recipients` is who may receive it:
 * each stream forwards only what names its owner (docs/design.md §6).
 */
export type WorkspaceEvent =
	| {
			type: 'message';
			conversationId: string;
			recipients: string[];
			message: ChatMessage;
			/** Recipients with a live connection when it was sent: it was pushed to them. */
			deliveredTo: string[];
	  }
	| { type: 'read'; conversationId: string; recipients: string[]; readerId: string; at: string }
	/** `userId`'s delivered mark moved to `at` (they loaded the conversation after being away). */
	| { type: 'delivered'; conversationId: string; recipients: string[]; userId: string; at: string }
	| { type: 'conversation'; conversationId: string; recipients: string[]; visitorId: string }
	| {
			type: 'preview';
			recipients: string[];
			userId: string;
			at: string;
			page: { url: string; title: string } | null;
	  }
	/**
	 * Agent sessions revoked (logout, logout everywhere): every stream opened with one of
	 * `sessionIds` ends with UNAUTHORIZED; nodes drop them from their session cache.
	 */
	| { type: 'session-revoked'; recipients: string[]; sessionIds: string[] }
	/**
	 * Streams may have missed events (a publish failed, a node's subscriber reconnected): their
	 * clients refetch what they show. `everyone`: every stream of the workspace, else `recipients`.
	 */
	| { type: 'resync'; recipients: string[]; everyone: boolean };

export type SessionRevokedEvent = Extract<WorkspaceEvent, { type: 'session-revoked' }>;

export type WorkspaceEventListener = (event: WorkspaceEvent) => void;

export interface EventBus {
	/** Delivered to `listen`ers of the workspace on every node, in publish order. Rejects when the bus is down. */
	publish(workspaceId: string, event: WorkspaceEvent): Promise<void>;
	/** Until `signal` aborts. Resolves once events published from now on will be delivered. */
	listen(workspaceId: string, listener: WorkspaceEventListener, signal: AbortSignal): Promise<void>;
	close(): Promise<void>;
}

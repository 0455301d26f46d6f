import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { PresenceUpdate, StreamEvent } from '../../lib/contract';
import type { WorkspaceEvent } from '../events/types';
import { offlineState } from '../presence';
import type { PresenceChange, PresenceState, TypingChange } from '../presence/types';
import type { Services } from '../services';
import type { Identity } from '../trpc';
import { updateFor, storedAvailability, type StoredPerson } from '../viewer';
import { scopeReaderOf } from './scope-reader';

/**
 * The one definition of what a viewer's presence stream carries (docs/design.md §3 and §6). The
 * tRPC procedure (`presence-stream.ts`: the caller, `vite dev`) and the node's stream hub
 * (`hub.ts`: production) are both built on it, so they cannot drift apart.
 */

/** `presence.connect`'s input: tRPC merges the client's last event id into it on a reconnect. */
export const connectInput = z.object({ lastEventId: z.string().max(300).nullish() }).optional();

/** Stored `last_seen_at` by person: the fallback when the engine no longer has a summary. */
export type StoredLastSeen = Map<string, Date | null>;

/**
 * Who one viewer may see and which conversations are theirs. An agent sees the workspace's agents
 * and the visitors of their conversations; a visitor sees the participants of their own. A new
 * conversation the viewer joins widens it (`join`).
 */
export class ViewerScope {
	readonly userId: string;
	readonly conversations: Set<string>;
	readonly visible: Set<string>;
	/** Visitors also get the team's status. */
	readonly kind: 'agent' | 'visitor';

	constructor(
		userId: string,
		visible: Iterable<string>,
		conversations: Iterable<string>,
		kind: 'agent' | 'visitor' = 'agent'
	) {
		this.userId = userId;
		this.kind = kind;
		this.visible = new Set(visible);
		this.conversations = new Set(conversations);
	}

	/**
	 * An agent sees everyone of the workspace: the visitors of their conversations, and also
	 * visitors who never wrote (the inbox's "visitors online now"; `visitors.byId` already showed
	 * any visitor of the workspace to its agents). The stream only ever carries its own
	 * workspace's changes, so "everyone" needs no list. A visitor sees their conversations' people.
	 */
	sees(userId: string): boolean {
		return this.kind === 'agent' || this.visible.has(userId);
	}

	receives(event: WorkspaceEvent): boolean {
		return (event.type === 'resync' && event.everyone) || event.recipients.includes(this.userId);
	}

	/** `stored`: the person's row, in a snapshot (availability from Postgres, the truth). */
	update(
		state: PresenceState,
		storedLastSeen: StoredLastSeen,
		stored?: StoredPerson
	): PresenceUpdate {
		return updateFor(state, this.conversations, storedLastSeen.get(state.userId) ?? null, stored);
	}

	/** Typing is for the conversation's other participants who may see the typist. */
	seesTyping(change: TypingChange): boolean {
		return (
			change.userId !== this.userId &&
			this.conversations.has(change.conversationId) &&
			this.visible.has(change.userId)
		);
	}

	/** The viewer takes part in a new conversation: returns the people who became visible. */
	join(event: Extract<WorkspaceEvent, { type: 'conversation' }>): string[] {
		this.conversations.add(event.conversationId);
		const added: string[] = [];
		for (const userId of event.recipients) {
			if (!this.visible.has(userId)) {
				this.visible.add(userId);
				added.push(userId);
			}
		}
		return added;
	}
}

/** A presence change on the wire, as one viewer sees it. */
export function presenceEvent(update: PresenceUpdate): StreamEvent {
	return { type: 'presence', ...update };
}

/** A workspace event on the wire: the same for every recipient. */
export function workspaceStreamEvent(event: WorkspaceEvent): StreamEvent | null {
	switch (event.type) {
		case 'conversation':
			return {
				type: 'conversation',
				conversationId: event.conversationId,
				visitorId: event.visitorId
			};
		case 'message':
			return {
				type: 'message',
				conversationId: event.conversationId,
				message: event.message,
				deliveredTo: event.deliveredTo
			};
		case 'delivered':
			return {
				type: 'delivered',
				conversationId: event.conversationId,
				userId: event.userId,
				at: event.at
			};
		case 'read':
			return {
				type: 'read',
				conversationId: event.conversationId,
				readerId: event.readerId,
				at: event.at
			};
		case 'preview':
			return { type: 'preview', userId: event.userId, at: event.at, page: event.page };
		case 'session-revoked':
			return null;
		case 'resync':
			return { type: 'resync' };
	}
}

/** True when `event` signs out the session this stream was opened with: the stream must end. */
export function revokesSession(item: StreamItem, sessionId: string | undefined): boolean {
	return (
		sessionId !== undefined &&
		item.kind === 'event' &&
		item.event.type === 'session-revoked' &&
		item.event.sessionIds.includes(sessionId)
	);
}

export const SIGNED_OUT = () =>
	new TRPCError({ code: 'UNAUTHORIZED', message: 'This session was signed out: sign in again' });

/** What reached a viewer's stream: a presence change or a workspace event. */
export type StreamItem =
	| { kind: 'presence'; change: PresenceChange }
	| { kind: 'event'; event: WorkspaceEvent }
	| { kind: 'typing'; change: TypingChange }
	/** The workspace's team status flipped (`TeamStatus`): for visitors. */
	| { kind: 'team'; online: boolean };

export function typingEvent(change: TypingChange): StreamEvent {
	return {
		type: 'typing',
		conversationId: change.conversationId,
		userId: change.userId,
		typing: change.typing
	};
}

/** The same for every visitor of the workspace: no agent named. */
export function teamEvent(online: boolean): StreamEvent {
	return { type: 'team', online };
}

/**
 * One item as this viewer receives it, or null when it is not theirs. Widens the scope on a new
 * conversation. `held` is the version per person the viewer already has (snapshot or earlier
 * delta): an item not newer is dropped.
 */
export function itemForViewer(
	scope: ViewerScope,
	item: StreamItem,
	storedLastSeen: StoredLastSeen,
	held: Map<string, number> | null
): StreamEvent | null {
	if (item.kind === 'presence') {
		const { change } = item;
		if (!scope.sees(change.userId)) return null;
		if (held) {
			if (change.version <= (held.get(change.userId) ?? 0)) return null;
			held.set(change.userId, change.version);
		}
		return presenceEvent(scope.update(change, storedLastSeen));
	}
	if (item.kind === 'typing')
		return scope.seesTyping(item.change) ? typingEvent(item.change) : null;
	if (item.kind === 'team') return scope.kind === 'visitor' ? teamEvent(item.online) : null;
	const { event } = item;
	if (!scope.receives(event)) return null;
	if (event.type === 'conversation') scope.join(event);
	return workspaceStreamEvent(event);
}

export interface OpenedConnection {
	scope: ViewerScope;
	connectionId: string;
	/** `ready` as this viewer receives it. */
	ready: Extract<StreamEvent, { type: 'ready' }>;
	/** The snapshot's version per person: a later change not newer than it is dropped. */
	held: Map<string, number>;
	storedLastSeen: StoredLastSeen;
}

/**
 * Opens a viewer's connection: one Postgres query for the scope (`ScopeReader` may carry other
 * opens' scopes in it) while the connection registers; the registration reads the presence of
 * whom the viewer will likely see, and one batch read covers anyone visible beyond that. The
 * caller listens BEFORE calling this, so no change falls between the snapshot and the deltas. A
 * failure after registering disconnects again.
 */
export async function openConnection(
	services: Pick<Services, 'db' | 'presence' | 'config' | 'team'>,
	identity: Identity
): Promise<OpenedConnection> {
	const { presence, db, config } = services;
	const scopes = scopeReaderOf(db);
	const registering = presence.connect(
		{ workspaceId: identity.workspaceId, userId: identity.userId },
		scopes.likelyAudience(identity)
	);
	let connectionId: string | null = null;
	try {
		const [{ audience, conversationIds }, registered] = await Promise.all([
			scopes.read(identity),
			registering
		]);
		connectionId = registered.connectionId;
		const scope = new ViewerScope(
			identity.userId,
			audience.map((person) => person.id),
			conversationIds,
			identity.kind
		);
		const rows = new Map(audience.map((person) => [person.id, person]));
		const storedLastSeen: StoredLastSeen = new Map(
			audience.map((person) => [person.id, person.last_seen_at])
		);
		// The registration already read whom the viewer would likely see; read the rest.
		const states = registered.states ?? new Map<string, PresenceState>();
		const missing = [...scope.visible].filter((userId) => !states.has(userId));
		if (missing.length > 0) {
			for (const [userId, state] of await presence.read(identity.workspaceId, missing)) {
				states.set(userId, state);
			}
		}
		const held = new Map<string, number>();
		const snapshot = [...scope.visible].map((userId) => {
			const state = states.get(userId) ?? offlineState(userId);
			held.set(userId, state.version);
			return scope.update(state, storedLastSeen, rows.get(userId));
		});
		const own = rows.get(identity.userId);
		const ownAvailability = own ? storedAvailability(own) : null;
		if (ownAvailability && states.get(identity.userId)?.availability !== ownAvailability) {
			// The engine's copy is missing (never set, Redis lost it) or stale (set while Redis was
			// away): give it Postgres's, so the agent's live changes carry it from now on.
			void presence.setAvailability(identity.workspaceId, identity.userId, ownAvailability);
		}
		return {
			scope,
			connectionId,
			held,
			storedLastSeen,
			ready: {
				type: 'ready',
				connectionId,
				snapshot,
				heartbeatIntervalMs: config.PRESENCE_HEARTBEAT_INTERVAL_MS,
				idleAfterMs: config.PRESENCE_IDLE_AFTER_MS,
				...(identity.kind === 'visitor'
					? { teamOnline: services.team.online(identity.workspaceId) }
					: {})
			}
		};
	} catch (error) {
		const id = connectionId ?? (await registering.then((r) => r.connectionId).catch(() => null));
		if (id) await presence.disconnect(id).catch(() => {});
		throw error;
	}
}

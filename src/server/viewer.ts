import type { PresenceStatus, PresenceUpdate } from '../lib/contract';
import type { Availability, PresenceState } from './presence/types';

/** What Postgres says of a person's availability: agents only, never chosen = available. */
export interface StoredPerson {
	kind: 'agent' | 'visitor';
	availability: Availability | null;
}

export function storedAvailability(person: StoredPerson): Availability | null {
	return person.kind === 'agent' ? (person.availability ?? 'available') : null;
}

/**
 * Presence as one viewer sees it (docs/design.md §2): `online` = live and focused on a
 * conversation the viewer takes part in, `active` = live otherwise, `offline` = no connection.
 */
export function statusFor(
	state: Pick<PresenceState, 'isOnline' | 'focusConversationId'>,
	viewerConversations: ReadonlySet<string>
): PresenceStatus {
	if (!state.isOnline) return 'offline';
	return state.focusConversationId !== null && viewerConversations.has(state.focusConversationId)
		? 'online'
		: 'active';
}

/**
 * The update a viewer receives. `lastSeenAt` prefers the engine's (fresh) value and falls back
 * to the stored column, so a person whose presence summary Redis no longer has still shows
 * "last seen". A focus outside the viewer's conversations is not revealed to them.
 *
 * Availability: a read that has the person's row (`stored`) takes it from Postgres, the truth;
 * a live change carries the engine's copy (absent = not known to it: null, and clients keep the
 * agent's last known value).
 */
export function updateFor(
	state: PresenceState,
	viewerConversations: ReadonlySet<string>,
	storedLastSeen: Date | null = null,
	stored?: StoredPerson
): PresenceUpdate {
	const lastSeen = state.lastSeenAt ?? storedLastSeen?.getTime() ?? null;
	const focus = state.focusConversationId;
	return {
		userId: state.userId,
		isOnline: state.isOnline,
		status: statusFor(state, viewerConversations),
		focusConversationId: focus !== null && viewerConversations.has(focus) ? focus : null,
		lastSeenAt: lastSeen === null ? null : new Date(lastSeen).toISOString(),
		currentPage: state.isOnline ? state.currentPage : null,
		version: state.version,
		idleSince: state.isOnline && state.idleSince ? new Date(state.idleSince).toISOString() : null,
		availability: stored ? storedAvailability(stored) : (state.availability ?? null)
	};
}

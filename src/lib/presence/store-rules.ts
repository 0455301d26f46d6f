import type { PresenceUpdate } from '../contract';

/**
 * The presence store's ordering rules, kept free of Svelte runes so that plain Node (the truth
 * benchmark, `scripts/bench/truth.ts`) applies a stream exactly as `PresenceStore` does. The
 * store passes its reactive map; any map of the same shape works.
 */
export interface PresenceTable {
	get(userId: string): PresenceUpdate | undefined;
	set(userId: string, update: PresenceUpdate): unknown;
	delete(userId: string): unknown;
	keys(): IterableIterator<string>;
}

/**
 * A `ready` snapshot replaces everything: people it does not name are no longer visible. A
 * snapshot entry older than what is held does not win, though: a snapshot read on another node,
 * or from a Redis that just lost its data (version 0), would show an older state, a flicker; the
 * newer truth follows as a delta. An equal version applies (the status is relative to the viewer,
 * and their conversations may have changed).
 */
export function replaceWithSnapshot(table: PresenceTable, snapshot: readonly PresenceUpdate[]) {
	const incoming = new Map(snapshot.map((u) => [u.userId, u]));
	for (const userId of [...table.keys()]) {
		if (!incoming.has(userId)) table.delete(userId);
	}
	for (const [userId, update] of incoming) {
		const held = table.get(userId);
		if (held && update.version < held.version) continue;
		// Writing an equal value would still wake every reader of a reactive map.
		if (!held || !samePresence(held, update)) table.set(userId, update);
	}
}

/** A delta applies only when its version is newer than the one held; returns whether it did. */
export function applyIfNewer(table: PresenceTable, update: PresenceUpdate): boolean {
	const held = table.get(update.userId);
	if (held && update.version <= held.version) return false;
	const next = stripType(update);
	// An agent's availability never goes back to null: a change without it comes from a backend
	// that lost its copy (README: availability), so the last known value still holds.
	if (next.availability == null && held?.availability) next.availability = held.availability;
	table.set(update.userId, next);
	return true;
}

function stripType(update: PresenceUpdate & { type?: string }): PresenceUpdate {
	const { type: _type, ...rest } = update;
	return rest;
}

function samePresence(a: PresenceUpdate, b: PresenceUpdate) {
	return (
		a.version === b.version &&
		a.status === b.status &&
		a.isOnline === b.isOnline &&
		a.lastSeenAt === b.lastSeenAt &&
		a.focusConversationId === b.focusConversationId &&
		a.currentPage?.url === b.currentPage?.url &&
		a.currentPage?.title === b.currentPage?.title &&
		(a.idleSince ?? null) === (b.idleSince ?? null) &&
		(a.availability ?? null) === (b.availability ?? null)
	);
}

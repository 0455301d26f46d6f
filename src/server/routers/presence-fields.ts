import type { PresenceUpdate } from '../../lib/contract';
import type { Services } from '../services';
import { offlineState } from '../presence';
import { updateFor, type StoredPerson } from '../viewer';

/**
 * Presence for a list of people of one workspace, as the caller sees them: ONE batch read
 * whatever the list's size (docs/design.md §2). When Redis fails, the engine answers offline.
 */
export async function presenceFor(
	services: Services,
	workspaceId: string,
	/** With `kind` (and `availability`, for agents) the availability comes from this row. */
	people: readonly {
		id: string;
		last_seen_at: Date | null;
		kind?: StoredPerson['kind'];
		availability?: StoredPerson['availability'];
	}[],
	callerConversations: ReadonlySet<string>
): Promise<Map<string, PresenceUpdate>> {
	const ids = [...new Set(people.map((p) => p.id))];
	const states = ids.length ? await services.presence.read(workspaceId, ids) : new Map();
	const result = new Map<string, PresenceUpdate>();
	for (const person of people) {
		const state = states.get(person.id) ?? offlineState(person.id);
		const stored = person.kind
			? { kind: person.kind, availability: person.availability ?? null }
			: undefined;
		result.set(person.id, updateFor(state, callerConversations, person.last_seen_at, stored));
	}
	return result;
}

import { SvelteMap } from 'svelte/reactivity';
import type { Availability, PresenceFields, PresenceStatus, PresenceUpdate } from '../contract';
import { applyIfNewer, replaceWithSnapshot } from './store-rules';

/** What the UI shows for a person: the wire status, or `unknown` while nothing is known (neutral). */
export type DisplayStatus = PresenceStatus | 'unknown';

/** Presence fields as the UI reads them, from the stream or from loaded query data. */
export type PresenceView = Pick<
	PresenceFields,
	'isOnline' | 'status' | 'lastSeenAt' | 'currentPage'
> & {
	version: number;
	idleSince?: string | null;
	availability?: Availability | null;
};

/**
 * Presence by person, as the signed-in viewer sees it (docs/design.md §3, "client presence
 * store"). A `ready` snapshot replaces everything; a delta applies only when its `version` is
 * newer than the one held, so out-of-order delivery never shows a stale state.
 */
export class PresenceStore {
	#people = new SvelteMap<string, PresenceUpdate>();
	#synced = $state(false);

	/** True once a snapshot arrived: absent people are then really not visible to the viewer. */
	get synced() {
		return this.#synced;
	}

	get size() {
		return this.#people.size;
	}

	/** Replaces everything with a fresh snapshot (first event of every stream, also after a reconnect). */
	applySnapshot(snapshot: readonly PresenceUpdate[]) {
		replaceWithSnapshot(this.#people, snapshot);
		this.#synced = true;
	}

	/** Applies a delta; returns false (and changes nothing) when it is not newer than what is held. */
	apply(update: PresenceUpdate): boolean {
		return applyIfNewer(this.#people, update);
	}

	get(userId: string): PresenceUpdate | undefined {
		return this.#people.get(userId);
	}

	status(userId: string): DisplayStatus {
		return this.#people.get(userId)?.status ?? 'unknown';
	}

	/**
	 * The newer of what the stream holds and what a page loaded (both carry the person's version):
	 * the loaded data shows at once (also in SSR), the stream takes over as soon as it knows more.
	 */
	view(userId: string, loaded?: PresenceView | null): PresenceView | null {
		const held = this.#people.get(userId);
		if (held && (!loaded || held.version >= loaded.version)) return held;
		return loaded ?? null;
	}

	clear() {
		this.#people.clear();
		this.#synced = false;
	}
}

/** The status to render for a view (null = not known: neutral). */
export function statusOf(view: PresenceView | null | undefined): DisplayStatus {
	return view?.status ?? 'unknown';
}

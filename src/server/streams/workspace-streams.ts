import type { HubStream } from './hub-stream';
import { StreamIndex } from './stream-index';
import type { StoredLastSeen } from './viewer-scope';

/**
 * The streams of one workspace on this node, indexed by audience: a presence change of P is
 * written only to the streams `forEachWatcher(P)` visits, a workspace event only to the streams
 * of its recipients, so a change costs its audience, not the node's stream count. The
 * workspace's channels are subscribed once (by the hub), not once per stream.
 */
export class WorkspaceStreams {
	readonly id: string;
	readonly controller = new AbortController();
	ready: Promise<void> = Promise.resolve();
	/** True once `ready` has resolved: an open need not wait a turn for it. */
	subscribed = false;
	/** The hub's sequence number once both channels were subscribed: resumes need to be after it. */
	since = Number.POSITIVE_INFINITY;
	/** Person -> the streams that may see them. */
	readonly watchers = new StreamIndex<HubStream>();
	/** Person -> their own streams (recipients of workspace events). */
	readonly owners = new StreamIndex<HubStream>();
	/** Visitors' streams: the audience of the team's status. */
	readonly visitors = new Set<HubStream>();
	/** Agents' streams: they also see visitors outside their scope (`ViewerScope.sees`). */
	readonly agents = new Set<HubStream>();
	/** Streams between listening and `ready`: they buffer what arrives. */
	readonly opening = new Set<HubStream>();
	/** Stored `last_seen_at` of the people these streams see (the same for every viewer). */
	readonly storedLastSeen: StoredLastSeen = new Map();
	streams = 0;
	linger: ReturnType<typeof setTimeout> | null = null;

	constructor(id: string) {
		this.id = id;
	}

	/**
	 * Calls `visit` for each stream that sees a person's changes: those whose scope holds them,
	 * and every agent's. A visitor with no conversation yet is in no one's scope, yet agents list
	 * them ("visitors online now", `ViewerScope.sees`).
	 */
	forEachWatcher(userId: string, visit: (stream: HubStream) => void): void {
		this.watchers.forEach(userId, visit);
		for (const stream of this.agents) if (!stream.scope!.visible.has(userId)) visit(stream);
	}

	/** A live stream joins the audiences its scope puts it in. */
	index(stream: HubStream): void {
		const scope = stream.scope!;
		for (const userId of scope.visible) this.watchers.add(userId, stream);
		this.owners.add(stream.userId, stream);
		if (scope.kind === 'visitor') this.visitors.add(stream);
		else this.agents.add(stream);
	}

	/** A closing stream leaves every audience. */
	unindex(stream: HubStream): void {
		this.opening.delete(stream);
		if (!stream.scope) return;
		for (const userId of stream.scope.visible) {
			this.watchers.remove(userId, stream);
			// Nobody here sees them any more: a busy workspace does not collect every visitor.
			if (!this.watchers.has(userId)) this.storedLastSeen.delete(userId);
		}
		this.owners.remove(stream.userId, stream);
		this.visitors.delete(stream);
		this.agents.delete(stream);
	}
}

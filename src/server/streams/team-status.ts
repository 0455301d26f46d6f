import type { Kysely } from 'kysely';
import { agentsOf } from '../db/people';
import type { Database } from '../db/schema';
import { ListenerSet } from '../../lib/listener-set';
import type { Availability, PresenceChange, PresenceEngine } from '../presence/types';
import type { Logger } from '../log';

/** One agent as the team's status needs them. */
interface Member {
	online: boolean;
	availability: Availability;
	version: number;
}

/** The team's status of one workspace on this node, kept from the engine's changes. */
class Team {
	readonly members = new Map<string, Member>();
	online = false;
	readonly controller = new AbortController();
	ready: Promise<void> = Promise.resolve();

	/** Applies one change; true when the team's status flipped. */
	apply(change: PresenceChange): boolean {
		const known = this.members.get(change.userId);
		// Visitors never carry an availability; an agent the node did not know of yet (joined the
		// workspace later) does once they connected.
		if (!known && change.availability === undefined) return false;
		if (known && change.version <= known.version) return false;
		this.members.set(change.userId, {
			online: change.isOnline,
			// A change without the engine's copy (Redis lost it) keeps what was known.
			availability: change.availability ?? known?.availability ?? 'available',
			version: change.version
		});
		return this.recompute();
	}

	recompute(): boolean {
		let online = false;
		for (const member of this.members.values()) {
			if (member.online && member.availability === 'available') {
				online = true;
				break;
			}
		}
		if (online === this.online) return false;
		this.online = online;
		return true;
	}
}

/**
 * Whether a workspace's team is there for its visitors: at least one agent online and available
 * (docs/design.md §4: the team's status for visitors). Computed here once per change per
 * workspace on this node, from the engine's changes (they carry each agent's availability), and
 * handed to every visitor stream: the hot path never walks agents per stream. No agent's
 * identity leaves this class.
 */
export class TeamStatus {
	#db: Kysely<Database>;
	#presence: PresenceEngine;
	#logger: Pick<Logger, 'warn'>;
	#teams = new Map<string, Team>();
	#listeners: ListenerSet<boolean>;

	constructor(options: {
		db: Kysely<Database>;
		presence: PresenceEngine;
		logger: Pick<Logger, 'warn'>;
	}) {
		this.#db = options.db;
		this.#presence = options.presence;
		this.#logger = options.logger;
		this.#listeners = new ListenerSet<boolean>({
			onFirst: (workspaceId) => this.#start(workspaceId),
			onLast: (workspaceId) => {
				this.#teams.get(workspaceId)?.controller.abort();
				this.#teams.delete(workspaceId);
			},
			onError: (error) => this.#logger.warn({ err: error }, '[team] a listener threw')
		});
	}

	/**
	 * Calls `listener(online)` each time the workspace's team status flips, until `signal` aborts.
	 * Resolves once the status is known (`online` may be read then). Never rejects: with Postgres
	 * away the agents are learnt from their changes, with Redis away everyone reads offline.
	 */
	watch(workspaceId: string, listener: (online: boolean) => void, signal: AbortSignal) {
		return this.#listeners.add(workspaceId, listener, signal);
	}

	/** The workspace's team status now (false when nobody watches it on this node). */
	online(workspaceId: string): boolean {
		return this.#teams.get(workspaceId)?.online ?? false;
	}

	async #start(workspaceId: string): Promise<void> {
		const team = new Team();
		this.#teams.set(workspaceId, team);
		const flip = () => this.#listeners.emit(workspaceId, team.online);
		// Listen before reading, so no change falls between the read and the changes.
		await this.#presence.listen(
			workspaceId,
			(change) => {
				if (team.apply(change)) flip();
			},
			team.controller.signal
		);
		try {
			const agents = await agentsOf(this.#db, workspaceId);
			const states = agents.length
				? await this.#presence.read(
						workspaceId,
						agents.map((a) => a.id)
					)
				: new Map();
			for (const agent of agents) {
				// A change that reached the listener meanwhile is newer than this read.
				if (team.members.has(agent.id)) continue;
				const state = states.get(agent.id);
				team.members.set(agent.id, {
					online: state?.isOnline ?? false,
					// Postgres is the truth for availability; the read only adds who is online.
					availability: agent.availability ?? 'available',
					version: state?.version ?? 0
				});
			}
			team.recompute();
		} catch (error) {
			this.#logger.warn(
				{ err: error, workspaceId },
				'[team] agents could not be read: the team status follows their changes only'
			);
		}
	}
}

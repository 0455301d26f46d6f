/**
 * Key layout of the Redis backend (README.md has the table).
 *
 * Workspace keys start with `<prefix>{<ws>}:` so that every script and batch read of a
 * workspace stays in one Redis Cluster slot. Node keys and the due-workspace index are not
 * workspace keys: they are only ever touched by single-key commands or single-key scripts.
 */
export class PresenceKeys {
	readonly prefix: string;

	constructor(prefix: string) {
		this.prefix = prefix;
	}

	/** KEYS[1] of every workspace script: the scripts derive their other keys from it. */
	workspace(workspaceId: string): string {
		return `${this.prefix}{${workspaceId}}:`;
	}

	summary(workspaceId: string, userId: string): string {
		return `${this.workspace(workspaceId)}s:${userId}`;
	}

	connection(workspaceId: string, connectionId: string): string {
		return `${this.workspace(workspaceId)}c:${connectionId}`;
	}

	channel(workspaceId: string): string {
		return `${this.workspace(workspaceId)}presence`;
	}

	/** The workspace of one of our channels, or null for anyone else's (the subscriber is shared). */
	workspaceOfChannel(channel: string): string | null {
		const head = `${this.prefix}{`;
		const tail = '}:presence';
		if (!channel.startsWith(head) || !channel.endsWith(tail)) return null;
		return channel.slice(head.length, -tail.length);
	}

	/** A node incarnation's lease (PX leaseTtlMs). */
	lease(holder: string): string {
		return `${this.prefix}node:${holder}`;
	}

	/** Workspaces in which a node incarnation may hold connections. */
	holderWorkspaces(holder: string): string {
		return `${this.prefix}node:${holder}:ws`;
	}

	/** Every node incarnation that registered and was not reaped yet. */
	get nodes(): string {
		return `${this.prefix}nodes`;
	}

	/** ZSET workspace -> earliest deadline (or a sweeper's claim marker): what the sweepers visit. */
	get due(): string {
		return `${this.prefix}due`;
	}
}

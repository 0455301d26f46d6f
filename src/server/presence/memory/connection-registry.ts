import { newSummary, type ConnectionFacts, type PersonSummary } from '../shared/rules';

/** A live connection: whose it is, when it dies without a heartbeat, and what the rules read of it. */
export interface Connection extends ConnectionFacts {
	workspaceId: string;
	userId: string;
	/** Heartbeat deadline, epoch ms. */
	deadline: number;
}

export interface Person {
	workspaceId: string;
	userId: string;
	connections: Set<string>;
	/** End of the grace (epoch ms) while the person has no connection but still shows online. */
	graceUntil: number | null;
	summary: PersonSummary;
}

/**
 * The memory backend's state: every live connection, every person it knows (their summary), and
 * who is in their grace. Lookups and bookkeeping only; what a change means is the rules' and
 * the engine's.
 */
export class ConnectionRegistry {
	#connections = new Map<string, Connection>();
	#people = new Map<string, Person>();
	/** People in their grace (a set, so a sweep does not walk everyone). */
	#graced = new Set<Person>();

	get size(): number {
		return this.#connections.size;
	}

	connection(connectionId: string): Connection | undefined {
		return this.#connections.get(connectionId);
	}

	connections(): IterableIterator<[string, Connection]> {
		return this.#connections.entries();
	}

	/** The person, or undefined when never seen (or forgotten). */
	find(workspaceId: string, userId: string): Person | undefined {
		return this.#people.get(key(workspaceId, userId));
	}

	/** The person, known from now on. */
	person(workspaceId: string, userId: string): Person {
		const k = key(workspaceId, userId);
		let p = this.#people.get(k);
		if (!p) {
			p = { workspaceId, userId, connections: new Set(), graceUntil: null, summary: newSummary() };
			this.#people.set(k, p);
		}
		return p;
	}

	people(): IterableIterator<Person> {
		return this.#people.values();
	}

	ownerOf(connection: Connection): Person {
		return this.person(connection.workspaceId, connection.userId);
	}

	*connectionsOf(p: Person): Iterable<Connection> {
		for (const id of p.connections) {
			const c = this.#connections.get(id);
			if (c) yield c;
		}
	}

	add(connectionId: string, connection: Connection): Person {
		this.#connections.set(connectionId, connection);
		const p = this.ownerOf(connection);
		p.connections.add(connectionId);
		return p;
	}

	/** Removes the connection; returns it, or null when it was unknown. */
	remove(connectionId: string): Connection | null {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		this.#connections.delete(connectionId);
		this.ownerOf(connection).connections.delete(connectionId);
		return connection;
	}

	startGrace(p: Person, until: number): void {
		p.graceUntil = until;
		this.#graced.add(p);
	}

	endGrace(p: Person): void {
		p.graceUntil = null;
		this.#graced.delete(p);
	}

	/** A copy: the caller ends graces while walking it. */
	graced(): Person[] {
		return [...this.#graced];
	}

	forget(p: Person): void {
		this.#people.delete(key(p.workspaceId, p.userId));
	}
}

function key(workspaceId: string, userId: string): string {
	return `${workspaceId}\u0000${userId}`;
}

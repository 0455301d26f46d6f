import { getContext, setContext } from 'svelte';
import type { PresenceConnection } from './presence-connection.svelte';

const KEY = Symbol('presence-connection');

/** One stream per tab: the layout that owns the connection shares it with every page below. */
export function setPresenceConnection(connection: PresenceConnection) {
	setContext(KEY, connection);
	return connection;
}

export function getPresenceConnection(): PresenceConnection {
	const connection = getContext<PresenceConnection | undefined>(KEY);
	if (!connection) throw new Error('No presence connection: render this inside the inbox layout');
	return connection;
}

import { createClient, type PresenceClient } from './client';

let client: PresenceClient | undefined;

/** The app's own browser client: same origin, the agent's cookie goes along by itself. */
export function trpc(): PresenceClient {
	client ??= createClient({ url: '/api/trpc', auth: { browserSession: true } });
	return client;
}

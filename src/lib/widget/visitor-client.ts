import { createClient, type PresenceClient } from '../client';

/**
 * The widget's client: same origin, the visitor token as a header on queries and mutations and
 * as the `visitorToken` connection param on the SSE stream. Without a token it can only call
 * public procedures (`widget.session`).
 */
export function createVisitorClient(visitorToken: string | null): PresenceClient {
	return createClient({
		url: '/api/trpc',
		auth: visitorToken ? { visitorToken } : null
	});
}

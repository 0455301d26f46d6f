import {
	createTRPCClient,
	httpBatchLink,
	httpSubscriptionLink,
	splitLink,
	type TRPCClient
} from '@trpc/client';
import type { AppRouter } from '../../server/routers/_app';
import { VISITOR_TOKEN_HEADER } from '../protocol';

/**
 * The typed client other TypeScript apps use (DESIGN section 4): queries and mutations through
 * one batch link, the presence stream over SSE. Works in the browser as is; under Node use
 * `createClient` from `./node` (it brings an EventSource and sends the session cookie).
 */

export type { AppRouter };

/** Who is calling. In a browser on the app's own origin, the agent's cookie goes along by itself. */
export type ClientAuth =
	{ visitorToken: string } | { agentCookie: string } | { browserSession: true } | null;

export interface CreateClientOptions {
	/** The tRPC endpoint, e.g. `https://presence.example.com/api/trpc`. */
	url: string;
	auth: ClientAuth;
	/** For runtimes without a global EventSource (Node 20): `EventSource` from `eventsource`. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	EventSource?: any;
	/** Replaces the global fetch (the Node client uses it to send the cookie on SSE too). */
	fetch?: typeof fetch;
}

export function authHeaders(auth: ClientAuth): Record<string, string> {
	if (auth && 'visitorToken' in auth) return { [VISITOR_TOKEN_HEADER]: auth.visitorToken };
	if (auth && 'agentCookie' in auth) return { cookie: auth.agentCookie };
	return {};
}

export function createClient(options: CreateClientOptions): TRPCClient<AppRouter> {
	const headers = authHeaders(options.auth);
	const visitorToken =
		options.auth && 'visitorToken' in options.auth ? options.auth.visitorToken : null;
	return createTRPCClient<AppRouter>({
		links: [
			splitLink({
				condition: (op) => op.type === 'subscription',
				true: httpSubscriptionLink({
					url: options.url,
					EventSource: options.EventSource,
					// Browsers cannot set headers on an EventSource: the visitor token rides as a connection param.
					connectionParams: visitorToken ? { visitorToken } : undefined,
					eventSourceOptions: options.EventSource
						? () => ({
								fetch: (input: RequestInfo | URL, init?: RequestInit) =>
									(options.fetch ?? fetch)(input, {
										...init,
										headers: { ...(init?.headers as Record<string, string>), ...headers }
									})
							})
						: undefined
				}),
				false: httpBatchLink({
					url: options.url,
					headers: () => headers,
					fetch: options.fetch
				})
			})
		]
	});
}

export type PresenceClient = TRPCClient<AppRouter>;

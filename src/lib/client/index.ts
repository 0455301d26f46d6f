import {
	createTRPCClient,
	httpBatchLink,
	httpLink,
	httpSubscriptionLink,
	splitLink,
	type Operation,
	type TRPCClient
} from '@trpc/client';
import type { AppRouter } from '../../server/routers/_app';
import { VISITOR_TOKEN_HEADER } from '../contract';

/**
 * The typed client other TypeScript apps use (docs/design.md §4): queries and mutations through
 * one batch link, the presence stream over SSE. Every call goes by POST, queries too: a query's
 * input in a GET URL fails past about 350 ids (HTTP 431), while `presence.status` takes 1,000.
 * A call whose input is large travels alone, so no request exceeds the server's body limit
 * (512 KB) and no batch its `maxBatchSize`. Works in the browser as is; under Node use
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

/** The server's `maxBatchSize` (src/server/http/body-limit.ts). */
const MAX_BATCH_ITEMS = 20;
/** Batched calls stay under this each: 20 of them fit the server's 512 KB body limit. */
const LARGE_INPUT_CHARS = 16_000;

function isLarge(op: Operation): boolean {
	if (op.input === undefined) return false;
	try {
		return JSON.stringify(op.input).length > LARGE_INPUT_CHARS;
	} catch {
		return false;
	}
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
				false: splitLink({
					condition: isLarge,
					true: httpLink({
						url: options.url,
						headers: () => headers,
						fetch: options.fetch,
						methodOverride: 'POST'
					}),
					false: httpBatchLink({
						url: options.url,
						headers: () => headers,
						fetch: options.fetch,
						methodOverride: 'POST',
						maxItems: MAX_BATCH_ITEMS
					})
				})
			})
		]
	});
}

export type PresenceClient = TRPCClient<AppRouter>;

import { randomUUID } from 'node:crypto';
import type { Handle, ServerInit } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/contract';
import { getServices } from '$server/services';
import { registerStreamHub } from '$server/streams';
import { agentFromToken } from '$server/trpc';

/** Start-up: configuration, database, migrations, presence; a bad value stops the process here. */
export const init: ServerInit = async () => {
	const services = await getServices();
	// The production entry (scripts/serve.js) serves presence streams through the node's hub.
	if (services.config.STREAM_HUB) registerStreamHub(services);
	// adapter-node closes the HTTP server on SIGTERM/SIGINT, which waits for open streams: end them
	// first (their connections get the grace) so clients reconnect to another node at once.
	const stop = () => {
		void services
			.close()
			.catch((error: unknown) => services.logger.error({ err: error }, '[shutdown] failed'));
	};
	process.once('SIGTERM', stop);
	process.once('SIGINT', stop);
};

/** The demo shop (and its chat widget) may be embedded in other sites; nothing else may be framed. */
function mayBeFramed(pathname: string): boolean {
	return pathname === '/demo' || pathname.startsWith('/demo/');
}

/**
 * Headers for every response: no MIME sniffing, referrers without paths across origins, and frame
 * protection: `frame-ancestors` joins the CSP SvelteKit writes from `kit.csp` (one policy, so
 * the page's directives are not intersected with a second header), X-Frame-Options for browsers
 * without CSP level 2.
 */
function secure(response: Response, pathname: string): Response {
	const headers = response.headers;
	try {
		headers.set('x-content-type-options', 'nosniff');
		headers.set('referrer-policy', 'strict-origin-when-cross-origin');
		if (!mayBeFramed(pathname)) {
			headers.set('x-frame-options', 'DENY');
			const csp = headers.get('content-security-policy');
			headers.set(
				'content-security-policy',
				csp ? `${csp}; frame-ancestors 'none'` : "frame-ancestors 'none'"
			);
		}
	} catch {
		// Immutable headers (a response passed through from fetch): it is not a page of ours.
	}
	return response;
}

/** A caller's own request id is kept (to follow a request across services), if it looks like one. */
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export const handle: Handle = async ({ event, resolve }) => {
	const offered = event.request.headers.get('x-request-id');
	event.locals.requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
	const startedAt = performance.now();
	const pathname = event.url.pathname;
	const services = await getServices();
	if (!pathname.startsWith('/api/')) {
		// Pages only use this to choose between the inbox and the login page; the inbox's own load
		// checks again through the API. A session that cannot be checked (Postgres away) counts as
		// none here rather than failing the page.
		event.locals.agent = await agentFromToken(
			services,
			event.cookies.get(SESSION_COOKIE) ?? null
		).catch(() => null);
	}
	const response = secure(await resolve(event), pathname);
	// Debug only: heartbeats make this several lines per client per minute. For a stream the
	// time is until its headers, not its life.
	services.logger.debug(
		{
			requestId: event.locals.requestId,
			method: event.request.method,
			path: pathname,
			status: response.status,
			ms: Math.round(performance.now() - startedAt)
		},
		'[http] request'
	);
	// Header may be immutable (a fetch Response passed through): the id is then only in the logs.
	try {
		response.headers.set('x-request-id', event.locals.requestId);
	} catch {
		// immutable headers
	}
	return response;
};

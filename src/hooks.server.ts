import { randomUUID } from 'node:crypto';
import type { Handle, ServerInit } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/protocol';
import { verifyToken } from '$server/auth/tokens';
import { getServices } from '$server/services';

/** Start-up: configuration, database, migrations, presence; a bad value stops the process here. */
export const init: ServerInit = async () => {
	const services = await getServices();
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

/** A caller's own request id is kept (to follow a request across services), if it looks like one. */
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export const handle: Handle = async ({ event, resolve }) => {
	const offered = event.request.headers.get('x-request-id');
	event.locals.requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
	const startedAt = performance.now();
	const token = event.cookies.get(SESSION_COOKIE);
	const { config, logger } = await getServices();
	const claims = token ? verifyToken(token, 'agent', config.SESSION_SECRET) : null;
	event.locals.agent = claims && {
		kind: 'agent',
		userId: claims.sub,
		workspaceId: claims.ws
	};
	const response = await resolve(event);
	// Debug only: heartbeats make this several lines per client per minute. For a stream the
	// time is until its headers, not its life.
	logger.debug(
		{
			requestId: event.locals.requestId,
			method: event.request.method,
			path: event.url.pathname,
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

import type { Handle, ServerInit } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/protocol';
import { getServices } from '$server/services';
import { agentFromToken } from '$server/trpc';

/** Start-up: configuration, database, migrations, presence; a bad value stops the process here. */
export const init: ServerInit = async () => {
	const services = await getServices();
	// adapter-node closes the HTTP server on SIGTERM/SIGINT, which waits for open streams: end them
	// first (their connections get the grace) so clients reconnect to another node at once.
	const stop = () => {
		void services.close().catch((error: unknown) => console.error('[shutdown]', error));
	};
	process.once('SIGTERM', stop);
	process.once('SIGINT', stop);
};

export const handle: Handle = async ({ event, resolve }) => {
	if (event.url.pathname.startsWith('/api/')) return resolve(event);
	const services = await getServices();
	// Pages only use this to choose between the inbox and the login page; the inbox's own load
	// checks again through the API. A session that cannot be checked (Postgres away) counts as
	// none here rather than failing the page.
	event.locals.agent = await agentFromToken(
		services,
		event.cookies.get(SESSION_COOKIE) ?? null
	).catch(() => null);
	return resolve(event);
};

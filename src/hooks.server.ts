import type { Handle, ServerInit } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/protocol';
import { verifyToken } from '$server/auth/tokens';
import { getServices } from '$server/services';
import { registerStreamHub } from '$server/streams';

/** Start-up: configuration, database, migrations, presence; a bad value stops the process here. */
export const init: ServerInit = async () => {
	const services = await getServices();
	// The production entry (scripts/serve.js) serves presence streams through the node's hub.
	if (services.config.STREAM_HUB) registerStreamHub(services);
	// adapter-node closes the HTTP server on SIGTERM/SIGINT, which waits for open streams: end them
	// first (their connections get the grace) so clients reconnect to another node at once.
	const stop = () => {
		void services.close().catch((error: unknown) => console.error('[shutdown]', error));
	};
	process.once('SIGTERM', stop);
	process.once('SIGINT', stop);
};

export const handle: Handle = async ({ event, resolve }) => {
	const token = event.cookies.get(SESSION_COOKIE);
	const { config } = await getServices();
	const claims = token ? verifyToken(token, 'agent', config.SESSION_SECRET) : null;
	event.locals.agent = claims && {
		kind: 'agent',
		userId: claims.sub,
		workspaceId: claims.ws
	};
	return resolve(event);
};

import type { IncomingMessage, ServerResponse } from 'node:http';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import { appRouter } from '../routers/_app';
import type { Services } from '../services';
import { StreamHub } from './hub';

export { StreamHub } from './hub';

/** The hub of this node, speaking for `presence.connect` with the router's own settings. */
export function createStreamHub(
	services: Services,
	options: { addressOf?: (req: IncomingMessage) => string } = {}
): StreamHub {
	const config = appRouter._def._config;
	return new StreamHub({
		services,
		addressOf: options.addressOf,
		errorShape: (error) =>
			getErrorShape({
				config,
				error,
				type: 'subscription',
				path: 'presence.connect',
				input: undefined,
				ctx: undefined
			}),
		sse: {
			pingIntervalMs: config.sse?.ping?.intervalMs ?? 10_000,
			client: config.sse?.client ?? {}
		}
	});
}

/**
 * How the production entry (`scripts/serve.js`, plain JS outside the bundle) reaches the hub:
 * the app's `init` hook registers this function when the hub is on; the entry calls it once.
 */
export type StreamHubHandle = () => {
	serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
	readonly size: number;
};

const HUB = Symbol.for('presence.streamHub');

export function registerStreamHub(services: Services): void {
	let hub: StreamHub | null = null;
	const handle: StreamHubHandle = () => (hub ??= createStreamHub(services, { addressOf }).start());
	(globalThis as { [HUB]?: StreamHubHandle })[HUB] = handle;
}

/** The client address as adapter-node reads it (`ADDRESS_HEADER`, `XFF_DEPTH`), else the socket's. */
function addressOf(req: IncomingMessage): string {
	const header = process.env.ADDRESS_HEADER?.toLowerCase();
	const value = header ? req.headers[header] : undefined;
	if (typeof value === 'string' && value) {
		if (header !== 'x-forwarded-for') return value;
		const addresses = value.split(',');
		const depth = Number(process.env.XFF_DEPTH ?? 1) || 1;
		return (addresses[addresses.length - depth] ?? addresses[0]!).trim();
	}
	return req.socket.remoteAddress ?? 'unknown';
}

import { VISITOR_TOKEN_HEADER } from '../lib/contract';
import { SESSION_COOKIE, readCookie, serializeSessionCookie } from './auth/cookies';
import { SESSION_TTL_SECONDS } from './auth/tokens';
import type { Services } from './services';

export interface ContextInnerOptions {
	services: Services;
	/** The agent session cookie's value. */
	sessionToken?: string | null;
	visitorToken?: string | null;
	/** Receives the session cookie to set or clear; absent in caller tests that don't care. */
	setCookie?: (serialized: string) => void;
	/** Client address, for rate limits. */
	clientKey?: string;
	/** The HTTP request's id: every line the procedure logs through `ctx.log` carries it. */
	requestId?: string;
}

/** What every procedure sees. Built without HTTP in tests (`createContextInner`). */
export function createContextInner(options: ContextInnerOptions) {
	const { services } = options;
	return {
		services,
		sessionToken: options.sessionToken ?? null,
		visitorToken: options.visitorToken ?? null,
		clientKey: options.clientKey ?? 'local',
		log: options.requestId
			? services.logger.child({ requestId: options.requestId })
			: services.logger,
		setSession(token: string | null) {
			options.setCookie?.(
				serializeSessionCookie(token, {
					maxAgeSeconds: SESSION_TTL_SECONDS,
					secure: services.config.COOKIE_SECURE
				})
			);
		}
	};
}

export type Context = ReturnType<typeof createContextInner>;

/** The HTTP context for `fetchRequestHandler`. */
export function createHttpContext(
	services: Services,
	opts: {
		req: Request;
		resHeaders: Headers;
		info: { connectionParams: Record<string, string | undefined> | null };
		clientAddress?: string;
		requestId?: string;
	}
): Context {
	const fromParams = opts.info.connectionParams?.visitorToken;
	return createContextInner({
		services,
		sessionToken: readCookie(opts.req.headers.get('cookie'), SESSION_COOKIE),
		visitorToken: opts.req.headers.get(VISITOR_TOKEN_HEADER) ?? fromParams ?? null,
		setCookie: (cookie) => opts.resHeaders.append('set-cookie', cookie),
		clientKey: opts.clientAddress,
		requestId: opts.requestId
	});
}

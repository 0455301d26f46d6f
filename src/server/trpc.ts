import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { verifyToken } from './auth/tokens';
import type { Context } from './context';
import { isDatabaseUnavailable } from './db/errors';
import { findBadString } from './input-strings';

/**
 * The procedure builders. SSE: the server pings well inside the client's inactivity window,
 * so a quiet stream is never mistaken for a dead one.
 *
 * Errors: what reaches a client is the tRPC code and a message written for it. An internal
 * error's own message (a Postgres error text, a file path) and every stack stay in the log
 * (the route's `onError`); input errors name the field and what is wrong with it.
 */
const t = initTRPC.context<Context>().create({
	sse: {
		ping: { enabled: true, intervalMs: 10_000 },
		client: { reconnectAfterInactivityMs: 25_000 },
		maxDurationMs: undefined
	},
	isDev: false,
	errorFormatter({ shape, error }) {
		const data = {
			code: shape.data.code,
			httpStatus: shape.data.httpStatus,
			path: shape.data.path
		};
		if (error.code === 'INTERNAL_SERVER_ERROR') {
			return { ...shape, message: 'Internal server error', data };
		}
		if (error.code === 'BAD_REQUEST' && error.cause instanceof ZodError) {
			return { ...shape, message: describeZodError(error.cause), data };
		}
		return { ...shape, data };
	}
});

function describeZodError(error: ZodError): string {
	return error.issues
		.slice(0, 5)
		.map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`)
		.join('; ');
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every procedure starts here. Strings with a NUL byte or a lone surrogate are refused before
 * any procedure runs: Postgres cannot store them (a 500 with its error text before), and no
 * field of this API has a use for them. A Postgres that is away is a 503 the client may retry,
 * not an internal error.
 */
const base = t.procedure.use(async ({ getRawInput, next }) => {
	const bad = findBadString(await getRawInput().catch(() => undefined));
	if (bad) {
		throw new TRPCError({ code: 'BAD_REQUEST', message: `${bad.path}: ${bad.reason}` });
	}
	const result = await next();
	if (!result.ok && isDatabaseUnavailable(result.error.cause ?? result.error)) {
		throw new TRPCError({
			code: 'SERVICE_UNAVAILABLE',
			message: 'The database is unavailable: try again in a moment',
			cause: result.error
		});
	}
	return result;
});

export const publicProcedure = base;

export interface Identity {
	kind: 'agent' | 'visitor';
	userId: string;
	workspaceId: string;
	/** Agents: the server-side session of their cookie (what logout revokes). */
	sessionId?: string;
}

/**
 * The agent of a session token: genuine, unexpired and its session neither revoked nor gone.
 * Null for anything else. Throws SERVICE_UNAVAILABLE when the session cannot be checked
 * (Postgres away and the session not verified recently).
 */
export async function agentFromToken(
	services: Context['services'],
	token: string | null
): Promise<Identity | null> {
	if (!token) return null;
	const claims = verifyToken(token, 'agent', services.config.SESSION_SECRET);
	// A token without a session id predates revocable sessions: it cannot be revoked, so it is refused.
	if (!claims?.sid) return null;
	let live: boolean;
	try {
		live = await services.sessions.check(claims.sid, claims.sub, claims.ws);
	} catch (error) {
		if (!isDatabaseUnavailable(error)) throw error;
		throw new TRPCError({
			code: 'SERVICE_UNAVAILABLE',
			message: 'Sessions cannot be checked right now: try again in a moment',
			cause: error
		});
	}
	return live
		? { kind: 'agent', userId: claims.sub, workspaceId: claims.ws, sessionId: claims.sid }
		: null;
}

function visitorOf(ctx: Context): Identity | null {
	if (!ctx.visitorToken) return null;
	const claims = verifyToken(ctx.visitorToken, 'visitor', ctx.services.config.SESSION_SECRET);
	return claims && { kind: 'visitor', userId: claims.sub, workspaceId: claims.ws };
}

const UNAUTHORIZED = (what: string) =>
	new TRPCError({ code: 'UNAUTHORIZED', message: `Missing, expired or invalid ${what}` });

/** Signed-in agents (session cookie). */
export const agentProcedure = base.use(async ({ ctx, next }) => {
	const agent = await agentFromToken(ctx.services, ctx.sessionToken);
	if (!agent) throw UNAUTHORIZED('agent session');
	return next({ ctx: { identity: agent } });
});

/** Widget visitors (signed visitor token, header or connection param). */
export const visitorProcedure = base.use(({ ctx, next }) => {
	const visitor = visitorOf(ctx);
	if (!visitor) throw UNAUTHORIZED('visitor token');
	return next({ ctx: { identity: visitor } });
});

/**
 * Either. A visitor token is sent on purpose with each call, while the agent's cookie rides along
 * by itself: an agent trying the widget in the same browser is a visitor there, so the token wins.
 */
export const personProcedure = base.use(async ({ ctx, next }) => {
	const identity = await personOf(ctx);
	if (!identity) throw NO_PERSON();
	return next({ ctx: { identity } });
});

/** Who a person-level call comes from (the stream hub authenticates its opens with it too). */
export async function personOf(ctx: Context): Promise<Identity | null> {
	return visitorOf(ctx) ?? (await agentFromToken(ctx.services, ctx.sessionToken));
}

/** What `personProcedure` refuses a call without identity with. */
export const NO_PERSON = () => UNAUTHORIZED('agent session or visitor token');

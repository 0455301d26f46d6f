import { initTRPC, TRPCError } from '@trpc/server';
import { verifyToken } from './auth/tokens';
import type { Context } from './context';

/**
 * The procedure builders. SSE: the server pings well inside the client's inactivity window,
 * so a quiet stream is never mistaken for a dead one.
 */
const t = initTRPC.context<Context>().create({
	sse: {
		ping: { enabled: true, intervalMs: 10_000 },
		client: { reconnectAfterInactivityMs: 25_000 },
		maxDurationMs: undefined
	}
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

export const publicProcedure = t.procedure;

export interface Identity {
	kind: 'agent' | 'visitor';
	userId: string;
	workspaceId: string;
}

function agentOf(ctx: Context): Identity | null {
	if (!ctx.sessionToken) return null;
	const claims = verifyToken(ctx.sessionToken, 'agent', ctx.services.config.SESSION_SECRET);
	return claims && { kind: 'agent', userId: claims.sub, workspaceId: claims.ws };
}

function visitorOf(ctx: Context): Identity | null {
	if (!ctx.visitorToken) return null;
	const claims = verifyToken(ctx.visitorToken, 'visitor', ctx.services.config.SESSION_SECRET);
	return claims && { kind: 'visitor', userId: claims.sub, workspaceId: claims.ws };
}

const UNAUTHORIZED = (what: string) =>
	new TRPCError({ code: 'UNAUTHORIZED', message: `Missing, expired or invalid ${what}` });

/** Signed-in agents (session cookie). */
export const agentProcedure = t.procedure.use(({ ctx, next }) => {
	const agent = agentOf(ctx);
	if (!agent) throw UNAUTHORIZED('agent session');
	return next({ ctx: { identity: agent } });
});

/** Widget visitors (signed visitor token, header or connection param). */
export const visitorProcedure = t.procedure.use(({ ctx, next }) => {
	const visitor = visitorOf(ctx);
	if (!visitor) throw UNAUTHORIZED('visitor token');
	return next({ ctx: { identity: visitor } });
});

/**
 * Either. A visitor token is sent on purpose with each call, while the agent's cookie rides along
 * by itself: an agent trying the widget in the same browser is a visitor there, so the token wins.
 */
export const personProcedure = t.procedure.use(({ ctx, next }) => {
	const identity = personOf(ctx);
	if (!identity) throw NO_PERSON();
	return next({ ctx: { identity } });
});

/** Who a person-level call comes from (the stream hub authenticates its opens with it too). */
export function personOf(ctx: Context): Identity | null {
	return visitorOf(ctx) ?? agentOf(ctx);
}

/** What `personProcedure` refuses a call without identity with. */
export const NO_PERSON = () => UNAUTHORIZED('agent session or visitor token');

import { TRPCError } from '@trpc/server';
import { conversationInWorkspace, isParticipant } from '../db/conversations';
import { findUser } from '../db/people';
import type { Limits, RateLimit } from '../limits/rate-limiter';
import { workspaceOfConnection } from '../presence/shared/ids';
import type { Context } from '../context';
import type { Identity } from '../trpc';

/** Authorization checks shared by the routers (docs/design.md §6). Each throws a clear 4xx. */

/** A procedure's context once a credential was verified. */
type Caller = Context & { identity: Identity };

/** The conversation exists, is in the caller's workspace, and the caller takes part in it. */
export async function requireParticipant(ctx: Caller, conversationId: string) {
	const { identity } = ctx;
	const conversation = await conversationInWorkspace(ctx.services.db, conversationId);
	if (!conversation) {
		throw new TRPCError({ code: 'NOT_FOUND', message: 'No such conversation' });
	}
	if (
		conversation.workspace_id !== identity.workspaceId ||
		!(await isParticipant(ctx.services.db, conversationId, identity.userId))
	) {
		throw new TRPCError({ code: 'FORBIDDEN', message: 'You are not part of this conversation' });
	}
	return conversation;
}

/** A visitor of the caller's workspace (agents see their own workspace's visitors only). */
export async function requireWorkspaceVisitor(ctx: Caller, visitorId: string) {
	const visitor = await findUser(ctx.services.db, visitorId);
	if (!visitor || visitor.kind !== 'visitor') {
		throw new TRPCError({ code: 'NOT_FOUND', message: 'No such visitor' });
	}
	if (visitor.workspace_id !== ctx.identity.workspaceId) {
		throw new TRPCError({
			code: 'FORBIDDEN',
			message: 'This visitor belongs to another workspace'
		});
	}
	return visitor;
}

/** The connection is live and the caller's own (a heartbeat may reach any node: no sticky sessions). */
export async function requireOwnConnection(ctx: Caller, connectionId: string) {
	const { identity } = ctx;
	const owner = await ctx.services.presence.owner(connectionId);
	if (!owner) {
		throw new TRPCError({
			code: 'NOT_FOUND',
			message: 'This connection is closed or expired: open a new presence stream'
		});
	}
	if (owner.userId !== identity.userId || owner.workspaceId !== identity.workspaceId) {
		throw new TRPCError({ code: 'FORBIDDEN', message: 'This connection belongs to someone else' });
	}
	return owner;
}

/**
 * A connection id names its workspace: one of another workspace is refused without a lookup
 * (and without writing anything under that workspace's keys); a malformed one is no connection.
 */
export function requireOwnWorkspace(ctx: Caller, connectionId: string) {
	const workspaceId = workspaceOfConnection(connectionId);
	if (workspaceId === null) {
		throw new TRPCError({ code: 'NOT_FOUND', message: 'No such connection' });
	}
	if (workspaceId !== ctx.identity.workspaceId) {
		throw new TRPCError({ code: 'FORBIDDEN', message: 'This connection belongs to someone else' });
	}
}

export function tooManyCalls(action: string, rule: RateLimit) {
	return new TRPCError({
		code: 'TOO_MANY_REQUESTS',
		message: `Too many ${action} calls: at most ${rule.limit} per ${rule.windowMs / 1000} s`
	});
}

export async function rateLimit(ctx: Context, action: keyof Limits, who: string) {
	const rule = ctx.services.limits[action];
	if (!(await ctx.services.limiter.take(`${action}:${who}`, rule))) {
		ctx.services.metrics.rateLimitRefused(action);
		throw tooManyCalls(action, rule);
	}
}

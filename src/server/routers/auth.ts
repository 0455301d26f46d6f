import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { verifyPassword } from '../auth/password';
import { issueToken, SESSION_TTL_SECONDS } from '../auth/tokens';
import { findAgentByEmail, findUser } from '../db/people';
import { agentFromToken, agentProcedure, publicProcedure, router } from '../trpc';
import type { Availability } from '../db/schema';
import { rateLimit } from './guards';

export interface AgentProfile {
	id: string;
	workspaceId: string;
	displayName: string;
	email: string;
	/** Their stored availability (the inbox header shows it before the stream is up). */
	availability: Availability;
}

export const authRouter = router({
	login: publicProcedure
		.input(
			z.object({
				email: z.string().trim().min(3).max(254),
				password: z.string().min(1).max(200)
			})
		)
		.mutation(async ({ ctx, input }): Promise<AgentProfile> => {
			await rateLimit(ctx, 'login', ctx.clientKey);
			const agent = await findAgentByEmail(ctx.services.db, input.email);
			const ok =
				agent?.password_hash && (await verifyPassword(input.password, agent.password_hash));
			if (!agent || !ok) {
				throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong email or password' });
			}
			const sid = await ctx.services.sessions.create(agent.id, SESSION_TTL_SECONDS);
			ctx.setSession(
				issueToken(
					{ kind: 'agent', sub: agent.id, ws: agent.workspace_id, sid },
					ctx.services.config.SESSION_SECRET,
					SESSION_TTL_SECONDS
				)
			);
			return profileOf(agent);
		}),

	/**
	 * Ends this browser's session: the cookie is cleared and its session revoked server-side, so a
	 * copy of the cookie is refused too (401) and the session's streams end. Without a live
	 * session it only clears the cookie.
	 */
	logout: publicProcedure.mutation(async ({ ctx }) => {
		await rateLimit(ctx, 'logout', ctx.clientKey);
		ctx.setSession(null);
		const agent = await agentFromToken(ctx.services, ctx.sessionToken);
		if (agent?.sessionId) await ctx.services.sessions.revoke(agent, [agent.sessionId]);
		return { ok: true as const };
	}),

	/** Revokes every session of the signed-in agent (every browser, every copied cookie). */
	logoutEverywhere: agentProcedure.mutation(async ({ ctx }) => {
		await rateLimit(ctx, 'logout', ctx.identity.userId);
		ctx.setSession(null);
		const revoked = await ctx.services.sessions.revoke(ctx.identity);
		return { ok: true as const, revoked: revoked.length };
	}),

	me: agentProcedure.query(async ({ ctx }): Promise<AgentProfile> => {
		const agent = await findUser(ctx.services.db, ctx.identity.userId);
		if (!agent || agent.kind !== 'agent') {
			throw new TRPCError({
				code: 'UNAUTHORIZED',
				message: 'This session’s agent no longer exists'
			});
		}
		return profileOf(agent);
	})
});

function profileOf(agent: {
	id: string;
	workspace_id: string;
	display_name: string;
	email: string | null;
	availability: Availability | null;
}): AgentProfile {
	return {
		id: agent.id,
		workspaceId: agent.workspace_id,
		displayName: agent.display_name,
		email: agent.email ?? '',
		availability: agent.availability ?? 'available'
	};
}

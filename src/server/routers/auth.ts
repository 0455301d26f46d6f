import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { verifyPassword } from '../auth/password';
import { issueToken, SESSION_TTL_SECONDS } from '../auth/tokens';
import { findAgentByEmail, findUser } from '../db/people';
import { agentProcedure, publicProcedure, router } from '../trpc';
import { rateLimit } from './guards';

export interface AgentProfile {
	id: string;
	workspaceId: string;
	displayName: string;
	email: string;
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
			ctx.setSession(
				issueToken(
					{ kind: 'agent', sub: agent.id, ws: agent.workspace_id },
					ctx.services.config.SESSION_SECRET,
					SESSION_TTL_SECONDS
				)
			);
			return profileOf(agent);
		}),

	logout: publicProcedure.mutation(({ ctx }) => {
		ctx.setSession(null);
		return { ok: true as const };
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
}): AgentProfile {
	return {
		id: agent.id,
		workspaceId: agent.workspace_id,
		displayName: agent.display_name,
		email: agent.email ?? ''
	};
}

import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { conversationIdsOf } from '../db/conversations';
import { findUser } from '../db/people';
import { agentProcedure, router } from '../trpc';
import { presenceFor } from './presence-fields';

export const visitorsRouter = router({
	/** One visitor of the agent's workspace, with presence (the visitor context panel). */
	byId: agentProcedure.input(z.object({ visitorId: z.uuid() })).query(async ({ ctx, input }) => {
		const { services, identity } = ctx;
		const visitor = await findUser(services.db, input.visitorId);
		if (!visitor || visitor.kind !== 'visitor') {
			throw new TRPCError({ code: 'NOT_FOUND', message: 'No such visitor' });
		}
		if (visitor.workspace_id !== identity.workspaceId) {
			throw new TRPCError({
				code: 'FORBIDDEN',
				message: 'This visitor belongs to another workspace'
			});
		}
		const conversationIds = await conversationIdsOf(services.db, identity.userId);
		const presence = await presenceFor(
			services,
			identity.workspaceId,
			[visitor],
			new Set(conversationIds)
		);
		return {
			id: visitor.id,
			displayName: visitor.display_name,
			createdAt: visitor.created_at.toISOString(),
			...presence.get(visitor.id)!
		};
	})
});

import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { issueToken, verifyToken, VISITOR_TTL_SECONDS } from '../auth/tokens';
import {
	createVisitorWithConversation,
	findUser,
	findWorkspaceByKey,
	latestConversationOf
} from '../db/people';
import { publicProcedure, router } from '../trpc';
import { publishEvent } from '../events/publish';
import { rateLimit } from './guards';

export const widgetRouter = router({
	/**
	 * Starts or resumes an anonymous visitor. A token that is not genuine, expired, or of another
	 * workspace starts a new visitor only when none was sent; a bad one is UNAUTHORIZED, so a
	 * tampered token never silently becomes someone.
	 */
	session: publicProcedure
		.input(
			z.object({
				workspaceKey: z.string().min(1).max(64),
				visitorToken: z.string().min(1).max(1024).optional()
			})
		)
		.mutation(async ({ ctx, input }) => {
			const { db, config } = ctx.services;
			const workspace = await findWorkspaceByKey(db, input.workspaceKey);
			if (!workspace) {
				throw new TRPCError({ code: 'NOT_FOUND', message: `No workspace "${input.workspaceKey}"` });
			}
			if (input.visitorToken) {
				const claims = verifyToken(input.visitorToken, 'visitor', config.SESSION_SECRET);
				if (!claims || claims.ws !== workspace.id) {
					throw new TRPCError({
						code: 'UNAUTHORIZED',
						message: 'Invalid or expired visitor token'
					});
				}
				await rateLimit(ctx, 'resume', claims.sub);
				const visitor = await findUser(db, claims.sub);
				const conversation = visitor && (await latestConversationOf(db, visitor.id));
				if (visitor && conversation) {
					return {
						visitorToken: issueToken(
							{ kind: 'visitor', sub: visitor.id, ws: workspace.id },
							config.SESSION_SECRET,
							VISITOR_TTL_SECONDS
						),
						visitorId: visitor.id,
						conversationId: conversation.id,
						displayName: visitor.display_name
					};
				}
			}
			await rateLimit(ctx, 'session', ctx.clientKey);
			const displayName = `Visitor ${Math.floor(1000 + Math.random() * 9000)}`;
			const created = await createVisitorWithConversation(db, workspace.id, displayName);
			// Agents' open streams learn of the new conversation (and so of this visitor's presence).
			await publishEvent(ctx.services, workspace.id, {
				type: 'conversation',
				conversationId: created.conversationId,
				recipients: created.participantIds,
				visitorId: created.visitorId
			});
			return {
				visitorToken: issueToken(
					{ kind: 'visitor', sub: created.visitorId, ws: workspace.id },
					config.SESSION_SECRET,
					VISITOR_TTL_SECONDS
				),
				visitorId: created.visitorId,
				conversationId: created.conversationId,
				displayName
			};
		})
});

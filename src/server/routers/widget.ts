import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { issueToken, verifyToken, VISITOR_TTL_SECONDS } from '../auth/tokens';
import {
	createVisitor,
	ensureConversation,
	findUser,
	findWorkspaceByKey,
	latestConversationOf
} from '../db/people';
import { publicProcedure, router, visitorProcedure } from '../trpc';
import { publishEvent } from '../events/publish';
import { rateLimit } from './guards';
import { visitorName } from '../names';

export const widgetRouter = router({
	/**
	 * Starts or resumes an anonymous visitor. A token that is not genuine, expired, or of another
	 * workspace starts a new visitor only when none was sent; a bad one is UNAUTHORIZED, so a
	 * tampered token never silently becomes someone. Loading a page creates no conversation
	 * (`conversationId` is null until the visitor writes: `startConversation`); a browsing
	 * visitor is still online, with their page and preview, for the workspace's agents.
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
				if (visitor && visitor.kind === 'visitor' && visitor.workspace_id === workspace.id) {
					const conversation = await latestConversationOf(db, visitor.id);
					return {
						visitorToken: issueToken(
							{ kind: 'visitor', sub: visitor.id, ws: workspace.id },
							config.SESSION_SECRET,
							VISITOR_TTL_SECONDS
						),
						visitorId: visitor.id,
						conversationId: conversation?.id ?? null,
						displayName: visitor.display_name
					};
				}
			}
			await rateLimit(ctx, 'session', ctx.clientKey);
			const displayName = visitorName();
			const created = await createVisitor(db, workspace.id, displayName);
			return {
				visitorToken: issueToken(
					{ kind: 'visitor', sub: created.visitorId, ws: workspace.id },
					config.SESSION_SECRET,
					VISITOR_TTL_SECONDS
				),
				visitorId: created.visitorId,
				conversationId: null as string | null,
				displayName
			};
		}),

	/**
	 * The visitor's conversation, begun on their first message (the widget calls it just before
	 * sending): idempotent, so every later call answers the same conversation.
	 */
	startConversation: visitorProcedure.mutation(async ({ ctx }) => {
		const { services, identity } = ctx;
		await rateLimit(ctx, 'startConversation', identity.userId);
		const started = await ensureConversation(services.db, identity.workspaceId, identity.userId);
		if (!started) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such visitor' });
		if (started.created) {
			// Agents' open streams learn of the new conversation (and so of this visitor's presence).
			await publishEvent(services, identity.workspaceId, {
				type: 'conversation',
				conversationId: started.conversationId,
				recipients: started.participantIds,
				visitorId: identity.userId
			});
		}
		return { conversationId: started.conversationId };
	})
});

import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { issueToken, verifyToken, VISITOR_TTL_SECONDS } from '../auth/tokens';
import { createVisitor, findUser, findWorkspaceByKey, latestConversationOf } from '../db/people';
import { publicProcedure, router, visitorProcedure } from '../trpc';
import { startConversation } from '../messaging/start-conversation';
import { rateLimit } from './guards';
import { visitorName } from '../names';

/** What `session` answers: who the visitor is, with a fresh token (a resume rotates it). */
function visitorSession(
	secret: string,
	workspaceId: string,
	visitor: { visitorId: string; conversationId: string | null; displayName: string }
) {
	return {
		visitorToken: issueToken(
			{ kind: 'visitor', sub: visitor.visitorId, ws: workspaceId },
			secret,
			VISITOR_TTL_SECONDS
		),
		...visitor
	};
}

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
					return visitorSession(config.SESSION_SECRET, workspace.id, {
						visitorId: visitor.id,
						conversationId: conversation?.id ?? null,
						displayName: visitor.display_name
					});
				}
			}
			await rateLimit(ctx, 'session', ctx.clientKey);
			const displayName = visitorName();
			const created = await createVisitor(db, workspace.id, displayName);
			return visitorSession(config.SESSION_SECRET, workspace.id, {
				visitorId: created.visitorId,
				conversationId: null,
				displayName
			});
		}),

	/**
	 * The visitor's conversation, begun on their first message (the widget calls it just before
	 * sending): idempotent, so every later call answers the same conversation.
	 */
	startConversation: visitorProcedure.mutation(async ({ ctx }) => {
		const { services, identity } = ctx;
		await rateLimit(ctx, 'startConversation', identity.userId);
		const { conversationId } = await startConversation(
			services,
			identity.workspaceId,
			identity.userId
		);
		return { conversationId };
	})
});

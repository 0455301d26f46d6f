import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { decodeCursor, messagesPage } from '../db/messages';
import { deliverLoaded, markConversationRead, sendMessage } from '../messaging/delivery';
import { personProcedure, router } from '../trpc';
import { rateLimit, requireParticipant } from './guards';

export const messagesRouter = router({
	/** Newest first, 50 a page; pass `nextCursor` back for older ones. */
	list: personProcedure
		.input(z.object({ conversationId: z.uuid(), cursor: z.string().max(200).optional() }))
		.query(async ({ ctx, input }) => {
			const before = input.cursor ? decodeCursor(input.cursor) : null;
			if (input.cursor && !before)
				throw new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid cursor' });
			await requireParticipant(ctx, input.conversationId);
			const page = await messagesPage(ctx.services.db, input.conversationId, before);
			// The newest page reached the caller: what was sent while they were away is delivered.
			const newest = page.rows[0];
			if (!before && newest) {
				await deliverLoaded(ctx.services, ctx.identity, input.conversationId, newest.created_at);
			}
			return {
				messages: page.rows.map((m) => ({
					id: m.id,
					conversationId: m.conversation_id,
					senderId: m.sender_id,
					senderName: m.sender_name,
					body: m.body,
					createdAt: m.created_at.toISOString()
				})),
				nextCursor: page.nextCursor
			};
		}),

	send: personProcedure
		.input(z.object({ conversationId: z.uuid(), body: z.string().trim().min(1).max(4000) }))
		.mutation(async ({ ctx, input }) => {
			await requireParticipant(ctx, input.conversationId);
			await rateLimit(ctx, 'message', ctx.identity.userId);
			return sendMessage(ctx.services, ctx.identity, input.conversationId, input.body);
		}),

	markRead: personProcedure
		.input(z.object({ conversationId: z.uuid() }))
		.mutation(async ({ ctx, input }) => {
			await rateLimit(ctx, 'markRead', ctx.identity.userId);
			await requireParticipant(ctx, input.conversationId);
			return markConversationRead(ctx.services, ctx.identity, input.conversationId);
		})
});

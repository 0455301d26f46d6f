import { z } from 'zod';
import { conversationsOf, participantsOf } from '../db/conversations';
import { personProcedure, router } from '../trpc';
import { requireParticipant } from './guards';
import { presenceFor } from './presence-fields';

export const conversationsRouter = router({
	/** The caller's conversations: the visitor with presence, the last message, the unread count. */
	list: personProcedure.query(async ({ ctx }) => {
		const { services, identity } = ctx;
		const rows = await conversationsOf(services.db, identity.userId);
		const mine = new Set(rows.map((r) => r.id));
		const presence = await presenceFor(
			services,
			identity.workspaceId,
			rows.map((r) => ({
				id: r.visitor_id,
				last_seen_at: r.visitor_last_seen_at,
				kind: 'visitor' as const
			})),
			mine
		);
		return rows.map((r) => ({
			id: r.id,
			createdAt: r.created_at.toISOString(),
			lastMessageAt: r.last_message_at?.toISOString() ?? null,
			unread: r.unread ?? 0,
			visitor: { id: r.visitor_id, displayName: r.visitor_name, ...presence.get(r.visitor_id)! },
			lastMessage:
				r.last_message_id && r.last_message_created_at
					? {
							id: r.last_message_id,
							body: r.last_message_body ?? '',
							senderId: r.last_message_sender_id ?? '',
							createdAt: r.last_message_created_at.toISOString()
						}
					: null
		}));
	}),

	participants: personProcedure
		.input(z.object({ conversationId: z.uuid() }))
		.query(async ({ ctx, input }) => {
			await requireParticipant(ctx, input.conversationId);
			const people = await participantsOf(ctx.services.db, input.conversationId);
			const presence = await presenceFor(
				ctx.services,
				ctx.identity.workspaceId,
				people,
				new Set([input.conversationId])
			);
			return people.map((p) => ({
				id: p.id,
				kind: p.kind,
				displayName: p.display_name,
				lastReadAt: p.last_read_at?.toISOString() ?? null,
				lastDeliveredAt: p.last_delivered_at?.toISOString() ?? null,
				...presence.get(p.id)!
			}));
		})
});

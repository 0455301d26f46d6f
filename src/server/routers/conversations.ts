import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { conversationsOf, participantsOf } from '../db/conversations';
import { personProcedure, router } from '../trpc';
import { requireParticipant } from './guards';
import { presenceFor } from './presence-fields';

/** The most conversations one page holds; the inbox asks for `CONVERSATION_PAGE` at a time. */
export const CONVERSATION_PAGE_MAX = 100;
export const CONVERSATION_PAGE = 50;
/** "Online now" asks the engine for this many people: a list past it is cut (documented). */
const ONLINE_FILTER_MAX = 1000;

/** An opaque position in the list: the last row's (activity, id), so paging never skips or repeats. */
function encodeCursor(activity: string, id: string): string {
	return Buffer.from(JSON.stringify([activity, id])).toString('base64url');
}

function decodeCursor(cursor: string): { activity: string; id: string } {
	try {
		const [activity, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
		if (
			typeof activity === 'string' &&
			!Number.isNaN(Date.parse(activity)) &&
			typeof id === 'string' &&
			z.uuid().safeParse(id).success
		)
			return { activity, id };
	} catch {
		// Falls through to the refusal.
	}
	throw new TRPCError({ code: 'BAD_REQUEST', message: 'This cursor is not one the list gave out' });
}

const listInput = z
	.object({
		/** Part of the visitor's name or of a message. */
		search: z.string().trim().max(100).optional(),
		/**
		 * `all` (default): every conversation of the caller; `online`: the visitor is online now;
		 * `unread`: messages the caller has not read; `mine`: conversations the caller wrote in
		 * (there is no assignment, and every agent joins every conversation).
		 */
		filter: z.enum(['all', 'online', 'unread', 'mine']).optional(),
		/** The `cursor` of the last item of the previous page. */
		cursor: z.string().max(300).optional(),
		limit: z.number().int().min(1).max(CONVERSATION_PAGE_MAX).optional()
	})
	.optional();

export const conversationsRouter = router({
	/**
	 * A page of the caller's conversations, most recent activity first: the visitor with presence,
	 * the last message, the unread count, and a `cursor` per item (pass the last one for the next
	 * page; a page shorter than `limit` is the last). One Postgres query and one batch presence
	 * read; with `online`, one engine read of who is online first.
	 */
	list: personProcedure.input(listInput).query(async ({ ctx, input }) => {
		const { services, identity } = ctx;
		const filter = input?.filter ?? 'all';
		const visitorIds =
			filter === 'online'
				? (await services.presence.online(identity.workspaceId, ONLINE_FILTER_MAX)).map(
						(s) => s.userId
					)
				: undefined;
		const rows = await conversationsOf(services.db, identity, input?.limit ?? CONVERSATION_PAGE, {
			search: input?.search || undefined,
			visitorIds,
			unread: filter === 'unread',
			answeredByMe: filter === 'mine',
			after: input?.cursor ? decodeCursor(input.cursor) : undefined
		});
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
			cursor: encodeCursor(r.activity, r.id),
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

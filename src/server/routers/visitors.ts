import { z } from 'zod';
import { conversationIdsOf } from '../db/conversations';
import { visitorsAmong } from '../db/people';
import { startConversation } from '../messaging/start-conversation';
import { agentProcedure, router } from '../trpc';
import { updateFor } from '../viewer';
import { rateLimit, requireWorkspaceVisitor } from './guards';
import { presenceFor } from './presence-fields';

/** The most visitors one `visitors.online` answers (the engine is asked for this many people). */
export const ONLINE_VISITORS_MAX = 500;

export const visitorsRouter = router({
	/** One visitor of the agent's workspace, with presence (the visitor context panel). */
	byId: agentProcedure.input(z.object({ visitorId: z.uuid() })).query(async ({ ctx, input }) => {
		const { services, identity } = ctx;
		const visitor = await requireWorkspaceVisitor(ctx, input.visitorId);
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
	}),

	/**
	 * "Visitors online now": the workspace's visitors with a live connection (or within the grace),
	 * whether or not they ever wrote, longest on the site first. One engine read (who is online,
	 * with their state) and one Postgres query (which of them are this workspace's visitors, and
	 * their conversation if any). `onSiteSince` is the start of this visit, `pagesSeen` its page
	 * reports so far (as fetched: the stream's page changes do not carry it).
	 */
	online: agentProcedure
		.input(
			z.object({ limit: z.number().int().min(1).max(ONLINE_VISITORS_MAX).optional() }).optional()
		)
		.query(async ({ ctx, input }) => {
			const { services, identity } = ctx;
			const limit = input?.limit ?? ONLINE_VISITORS_MAX;
			// Agents are online too: ask for a few more so `limit` visitors still fit.
			const states = await services.presence.online(identity.workspaceId, limit + 50);
			const byId = new Map(states.map((s) => [s.userId, s]));
			const [rows, conversationIds] = await Promise.all([
				visitorsAmong(services.db, identity.workspaceId, [...byId.keys()]),
				conversationIdsOf(services.db, identity.userId)
			]);
			const mine = new Set(conversationIds);
			return rows
				.map((row) => {
					const state = byId.get(row.id)!;
					return {
						id: row.id,
						displayName: row.display_name,
						conversationId: row.conversation_id,
						onSiteSince:
							state.lastSeenAt === null ? null : new Date(state.lastSeenAt).toISOString(),
						pagesSeen: state.pagesSeen ?? 0,
						...updateFor(state, mine, row.last_seen_at)
					};
				})
				.sort((a, b) => (a.onSiteSince ?? '').localeCompare(b.onSiteSince ?? ''))
				.slice(0, limit);
		}),

	/**
	 * An agent starts a conversation with a visitor from the list (or opens theirs, if they
	 * already have one): idempotent, so a double click makes one conversation.
	 */
	startConversation: agentProcedure
		.input(z.object({ visitorId: z.uuid() }))
		.mutation(async ({ ctx, input }) => {
			const { services, identity } = ctx;
			await rateLimit(ctx, 'startConversation', identity.userId);
			const visitor = await requireWorkspaceVisitor(ctx, input.visitorId);
			return startConversation(services, identity.workspaceId, visitor.id);
		})
});

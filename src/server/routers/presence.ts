import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { audienceOf, conversationIdsOf } from '../db/conversations';
import { agentsOf, findUser, storeAvailability } from '../db/people';
import { AVAILABILITIES, PREVIEW_PAGE_GAP_MS, PREVIEW_SAME_PAGE_MS } from '../../lib/contract';
import { markReadOnFocus } from '../messaging/delivery';
import { publishEvent } from '../events/publish';
import { parsePreview } from '../previews/image';
import { presenceStream } from '../streams/presence-stream';
import { connectInput } from '../streams/viewer-scope';
import { agentProcedure, personProcedure, router } from '../trpc';
import {
	rateLimit,
	requireOwnConnection,
	requireOwnWorkspace,
	requireParticipant,
	tooManyCalls
} from './guards';
import { presenceFor } from './presence-fields';

const connectionId = z.string().min(1).max(200);
const pageInput = z.object({
	url: z.url({ protocol: /^https?$/ }).max(2048),
	title: z.string().trim().max(300)
});

export const presenceRouter = router({
	/**
	 * The one stream per client: `ready { connectionId, snapshot }`, then `presence`, `message`,
	 * `read`, `conversation` and `preview` events for this caller. A reconnect (with
	 * `lastEventId`) starts over from a fresh snapshot: events are not replayed.
	 */
	connect: personProcedure
		.input(connectInput)
		.subscription(({ ctx, signal }) =>
			presenceStream(ctx.services, ctx.identity, signal, ctx.clientKey)
		),

	heartbeat: personProcedure.input(z.object({ connectionId })).mutation(async ({ ctx, input }) => {
		const { services, identity } = ctx;
		// Another workspace's id is refused before Redis: its keys (even a rate counter) are
		// not the caller's to touch.
		requireOwnWorkspace(ctx, input.connectionId);
		// The hot path, one round trip: the person's rate limit and the ownership check run inside
		// the heartbeat's own script. Only a refusal takes a second look, to tell someone else's
		// connection (FORBIDDEN) from a gone one.
		const alive = await services.presence.heartbeat(
			input.connectionId,
			identity.userId,
			services.limits.heartbeat
		);
		if (alive === 'limited') throw tooManyCalls('heartbeat', services.limits.heartbeat);
		if (!alive) {
			await requireOwnConnection(ctx, input.connectionId);
			throw new TRPCError({
				code: 'NOT_FOUND',
				message: 'This connection expired: open a new presence stream'
			});
		}
		return { ok: true as const };
	}),

	/** The chat is open and visible on this conversation (null = closed or hidden). */
	focus: personProcedure
		.input(z.object({ connectionId, conversationId: z.uuid().nullable() }))
		.mutation(async ({ ctx, input }) => {
			requireOwnWorkspace(ctx, input.connectionId);
			await rateLimit(ctx, 'focus', ctx.identity.userId);
			await requireOwnConnection(ctx, input.connectionId);
			if (input.conversationId) await requireParticipant(ctx, input.conversationId);
			await ctx.services.presence.focus(input.connectionId, input.conversationId);
			if (input.conversationId)
				await markReadOnFocus(ctx.services, ctx.identity, input.conversationId);
			return { ok: true as const };
		}),

	/**
	 * The caller is typing in the conversation until TYPING_TTL_MS from now (a repeat extends it).
	 * The server ends it by itself (deadline, the connection going, `messages.send`), so a client
	 * that vanishes mid-word leaves nothing on. Participants only.
	 */
	typing: personProcedure
		.input(z.object({ connectionId, conversationId: z.uuid() }))
		.mutation(async ({ ctx, input }) => {
			requireOwnWorkspace(ctx, input.connectionId);
			await rateLimit(ctx, 'typing', ctx.identity.userId);
			await requireOwnConnection(ctx, input.connectionId);
			await requireParticipant(ctx, input.conversationId);
			await ctx.services.presence.typing(
				input.connectionId,
				input.conversationId,
				ctx.services.config.TYPING_TTL_MS
			);
			return { ok: true as const, ttlMs: ctx.services.config.TYPING_TTL_MS };
		}),

	/**
	 * The tab went PRESENCE_IDLE_AFTER_MS without input (true), or has input again (false). The
	 * person shows idle only while every live connection is.
	 */
	idle: personProcedure
		.input(z.object({ connectionId, idle: z.boolean() }))
		.mutation(async ({ ctx, input }) => {
			requireOwnWorkspace(ctx, input.connectionId);
			await rateLimit(ctx, 'idle', ctx.identity.userId);
			await requireOwnConnection(ctx, input.connectionId);
			await ctx.services.presence.idle(input.connectionId, input.idle);
			return { ok: true as const };
		}),

	/**
	 * An agent says whether they take conversations. Stored in Postgres first (the truth: it
	 * survives reconnects, restarts and Redis losing its data), then handed to the presence engine
	 * so teammates get it as a presence change and visitors' team status follows.
	 */
	setAvailability: personProcedure
		.input(z.object({ availability: z.enum(AVAILABILITIES) }))
		.mutation(async ({ ctx, input }) => {
			const { services, identity } = ctx;
			if (identity.kind !== 'agent') {
				throw new TRPCError({ code: 'FORBIDDEN', message: 'Only agents have an availability' });
			}
			await rateLimit(ctx, 'availability', identity.userId);
			if (!(await storeAvailability(services.db, identity, input.availability))) {
				throw new TRPCError({ code: 'NOT_FOUND', message: 'No such agent' });
			}
			await services.presence.setAvailability(
				identity.workspaceId,
				identity.userId,
				input.availability
			);
			return { ok: true as const, availability: input.availability };
		}),

	page: personProcedure
		.input(pageInput.extend({ connectionId }))
		.mutation(async ({ ctx, input }) => {
			requireOwnWorkspace(ctx, input.connectionId);
			await rateLimit(ctx, 'page', ctx.identity.userId);
			await requireOwnConnection(ctx, input.connectionId);
			await ctx.services.presence.page(input.connectionId, { url: input.url, title: input.title });
			return { ok: true as const };
		}),

	/**
	 * A small image of the visitor's page (PNG, JPEG or WebP by content, at most 100 KB) and the
	 * page it shows (default: the page the visitor last reported). Stored when it is of another
	 * page than the stored one and that one is `PREVIEW_PAGE_GAP_MS` old, or of the same page and
	 * `PREVIEW_SAME_PAGE_MS` old; otherwise `stored: false` and, when a capture of this page is
	 * still wanted, `retryAfterMs`.
	 */
	preview: personProcedure
		.input(
			z.object({
				connectionId,
				image: z.string().min(1).max(140_000),
				page: pageInput.optional()
			})
		)
		.mutation(async ({ ctx, input }) => {
			const parsed = parsePreview(input.image);
			if (!parsed.ok) throw new TRPCError({ code: 'BAD_REQUEST', message: parsed.reason });
			requireOwnWorkspace(ctx, input.connectionId);
			await requireOwnConnection(ctx, input.connectionId);
			await rateLimit(ctx, 'preview', ctx.identity.userId);
			const { services, identity } = ctx;
			const [held, page] = await Promise.all([
				services.previews.get(identity.workspaceId, identity.userId),
				input.page ??
					services.presence
						.read(identity.workspaceId, [identity.userId])
						.then((states) => states.get(identity.userId)?.currentPage ?? null)
			]);
			const at = Date.now();
			if (held) {
				const age = at - held.at;
				const samePage = (held.page?.url ?? null) === (page?.url ?? null);
				if (samePage && age < PREVIEW_SAME_PAGE_MS) {
					return { ok: true as const, stored: false, retryAfterMs: null };
				}
				if (!samePage && age < PREVIEW_PAGE_GAP_MS) {
					return { ok: true as const, stored: false, retryAfterMs: PREVIEW_PAGE_GAP_MS - age };
				}
			}
			await services.previews.put(
				identity.workspaceId,
				identity.userId,
				{ type: parsed.type, data: parsed.bytes.toString('base64'), at, page },
				services.config.PRESENCE_HEARTBEAT_TIMEOUT_MS
			);
			// Every agent of the workspace: a visitor who has not written yet is on no one's
			// conversation list, yet agents see them browsing ("visitors online now").
			const agents = await agentsOf(services.db, identity.workspaceId);
			await publishEvent(services, identity.workspaceId, {
				type: 'preview',
				recipients: agents.map((p) => p.id),
				userId: identity.userId,
				at: new Date(at).toISOString(),
				page
			});
			return { ok: true as const, stored: true, retryAfterMs: null };
		}),

	/** The visitor's latest preview as a data URL; null while offline or when there is none. */
	previewImage: agentProcedure
		.input(z.object({ userId: z.uuid() }))
		.query(async ({ ctx, input }) => {
			const { presence, previews, db } = ctx.services;
			const person = await findUser(db, input.userId);
			if (!person) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such person' });
			if (person.workspace_id !== ctx.identity.workspaceId) {
				throw new TRPCError({
					code: 'FORBIDDEN',
					message: 'This person belongs to another workspace'
				});
			}
			const [online, preview] = await Promise.all([
				presence.isOnline(ctx.identity.workspaceId, input.userId),
				previews.get(ctx.identity.workspaceId, input.userId)
			]);
			if (!online || !preview) return null;
			return {
				dataUrl: `data:${preview.type};base64,${preview.data}`,
				at: new Date(preview.at).toISOString(),
				page: preview.page ?? null
			};
		}),

	/** Presence of up to 1,000 people the caller may see, in one Redis round trip. */
	status: personProcedure
		.input(z.object({ userIds: z.array(z.uuid()).min(1).max(1000) }))
		.query(async ({ ctx, input }) => {
			const { services, identity } = ctx;
			const [audience, conversationIds] = await Promise.all([
				audienceOf(services.db, identity, input.userIds),
				conversationIdsOf(services.db, identity.userId)
			]);
			const visible = new Map(audience.map((p) => [p.id, p]));
			const hidden = input.userIds.filter((id) => !visible.has(id));
			if (hidden.length) {
				throw new TRPCError({
					code: 'FORBIDDEN',
					message: `Not visible to you: ${hidden.slice(0, 5).join(', ')}${hidden.length > 5 ? '…' : ''}`
				});
			}
			const people = input.userIds.map((id) => visible.get(id)!);
			const updates = await presenceFor(
				services,
				identity.workspaceId,
				people,
				new Set(conversationIds)
			);
			return input.userIds.map((id) => updates.get(id)!);
		})
});

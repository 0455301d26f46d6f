import { error, redirect } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { serverCaller } from '$server/caller';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	event.depends('inbox:conversation');
	const caller = await serverCaller(event);
	const conversationId = event.params.conversationId;
	try {
		const [page, participants] = await Promise.all([
			caller.messages.list({ conversationId }),
			caller.conversations.participants({ conversationId })
		]);
		return {
			conversationId,
			messages: page.messages.toReversed(),
			nextCursor: page.nextCursor,
			participants
		};
	} catch (cause) {
		if (cause instanceof TRPCError) {
			if (cause.code === 'UNAUTHORIZED') redirect(303, '/login');
			if (cause.code === 'NOT_FOUND' || cause.code === 'BAD_REQUEST')
				error(404, 'No such conversation');
			if (cause.code === 'FORBIDDEN') error(403, 'You are not part of this conversation');
		}
		throw cause;
	}
};

import { redirect } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { serverCaller } from '$server/caller';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async (event) => {
	event.depends('inbox:list');
	const caller = await serverCaller(event);
	try {
		const [me, conversations] = await Promise.all([caller.auth.me(), caller.conversations.list()]);
		return { me, conversations };
	} catch (error) {
		if (error instanceof TRPCError && error.code === 'UNAUTHORIZED') redirect(303, '/login');
		throw error;
	}
};

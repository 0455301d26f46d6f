import { redirect } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { serverCaller } from '$server/caller';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async (event) => {
	const caller = await serverCaller(event);
	try {
		return { me: await caller.auth.me() };
	} catch (error) {
		if (error instanceof TRPCError && error.code === 'UNAUTHORIZED') redirect(303, '/login');
		throw error;
	}
};

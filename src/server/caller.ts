import type { RequestEvent } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../lib/contract';
import { createContextInner } from './context';
import { appRouter } from './routers/_app';
import { getServices } from './services';
import { createCallerFactory } from './trpc';

const createCaller = createCallerFactory(appRouter);

/** The API for `load` functions: the same procedures, called in process, no HTTP to itself. */
export async function serverCaller(event: Pick<RequestEvent, 'cookies'>) {
	const services = await getServices();
	return createCaller(
		createContextInner({ services, sessionToken: event.cookies.get(SESSION_COOKIE) ?? null })
	);
}

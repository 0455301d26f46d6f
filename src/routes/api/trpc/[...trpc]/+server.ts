import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { RequestHandler } from './$types';
import { createHttpContext } from '$server/context';
import { appRouter } from '$server/routers/_app';
import { getServices } from '$server/services';

const handler: RequestHandler = async (event) => {
	const services = await getServices();
	return fetchRequestHandler({
		endpoint: '/api/trpc',
		req: event.request,
		router: appRouter,
		createContext: ({ req, resHeaders, info }) =>
			createHttpContext(services, {
				req,
				resHeaders,
				info,
				clientAddress: event.getClientAddress(),
				requestId: event.locals.requestId
			}),
		onError: ({ error, path }) => {
			if (error.code === 'INTERNAL_SERVER_ERROR') {
				services.logger.error(
					{ err: error, path, requestId: event.locals.requestId },
					'[trpc] internal error'
				);
			}
		}
	});
};

export const GET = handler;
export const POST = handler;

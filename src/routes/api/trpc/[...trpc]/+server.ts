import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { RequestHandler } from './$types';
import { createHttpContext } from '$server/context';
import { bufferBoundedBody, MAX_BATCH_SIZE } from '$server/http/body-limit';
import { appRouter } from '$server/routers/_app';
import { getServices } from '$server/services';

let lastUnavailableLog = 0;

const handler: RequestHandler = async (event) => {
	const services = await getServices();
	const req = await bufferBoundedBody(event.request);
	if (req instanceof Response) return req;
	return fetchRequestHandler({
		endpoint: '/api/trpc',
		req,
		router: appRouter,
		// Queries with large inputs (1,000 ids) travel by POST: a GET's URL would exceed header limits.
		allowMethodOverride: true,
		maxBatchSize: MAX_BATCH_SIZE,
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
			if (error.code === 'SERVICE_UNAVAILABLE' && Date.now() - lastUnavailableLog > 5000) {
				lastUnavailableLog = Date.now();
				const cause = error.cause?.cause ?? error.cause;
				services.logger.warn(
					{ path, requestId: event.locals.requestId },
					`[trpc] ${error.message} (${(cause as Error)?.message ?? 'unknown'})`
				);
			}
		}
	});
};

export const GET = handler;
export const POST = handler;

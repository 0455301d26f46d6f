import { getServices } from '$server/services';
import { metricsAuthorized } from '$server/metrics';
import type { RequestHandler } from './$types';

/** Prometheus text (docs/design.md §7); with METRICS_TOKEN set, only for `Bearer <token>`. */
export const GET: RequestHandler = async ({ request }) => {
	const services = await getServices();
	if (!metricsAuthorized(request.headers.get('authorization'), services.config.METRICS_TOKEN)) {
		return new Response('Unauthorized\n', {
			status: 401,
			headers: { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain' }
		});
	}
	const { text, contentType } = await services.metrics.render();
	return new Response(text, { headers: { 'content-type': contentType } });
};

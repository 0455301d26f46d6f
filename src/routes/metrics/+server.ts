import { getServices } from '$server/services';
import { renderMetrics } from '$server/metrics';
import type { RequestHandler } from './$types';

/** Prometheus text (DESIGN section 7). */
export const GET: RequestHandler = async () => {
	const services = await getServices();
	return new Response(await renderMetrics(services), {
		headers: { 'content-type': 'text/plain; version=0.0.4' }
	});
};

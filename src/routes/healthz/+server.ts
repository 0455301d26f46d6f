import { json } from '@sveltejs/kit';
import { sql } from 'kysely';
import { getServices } from '$server/services';
import type { RequestHandler } from './$types';

/** Reachability of Postgres and Redis; 503 when either is down (load balancers take the node out). */
export const GET: RequestHandler = async () => {
	const services = await getServices();
	const [postgres, redis] = await Promise.all([
		sql`select 1`
			.execute(services.db)
			.then(() => 'ok' as const)
			.catch(() => 'down' as const),
		services.redis
			? services.redis
					.ping()
					.then(() => 'ok' as const)
					.catch(() => 'down' as const)
			: Promise.resolve('single-process' as const)
	]);
	const healthy = postgres === 'ok' && redis !== 'down';
	return json({ postgres, redis }, { status: healthy ? 200 : 503 });
};

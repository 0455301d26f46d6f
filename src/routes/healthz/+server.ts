import { json } from '@sveltejs/kit';
import { sql } from 'kysely';
import { pingRedis } from '$server/redis/clients';
import { getServices } from '$server/services';
import type { RequestHandler } from './$types';

/**
 * Reachability of Postgres and Redis (one Redis, or a Cluster node); 503 when either is down
 * (load balancers take the node out).
 */
export const GET: RequestHandler = async () => {
	const services = await getServices();
	const [postgres, redis] = await Promise.all([
		sql`select 1`
			.execute(services.db)
			.then(() => 'ok' as const)
			.catch(() => 'down' as const),
		services.redis
			? pingRedis(services.redis, services.config.REDIS_COMMAND_TIMEOUT_MS).then((up) =>
					up ? ('ok' as const) : ('down' as const)
				)
			: Promise.resolve('single-process' as const)
	]);
	const healthy = postgres === 'ok' && redis !== 'down';
	return json({ postgres, redis }, { status: healthy ? 200 : 503 });
};

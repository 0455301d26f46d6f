import { sql, type Kysely } from 'kysely';
import type { LastSeenStore } from '../presence/types';
import type { Database } from './schema';

/** Persists `last_seen_at` for the presence engine: one UPDATE per batch, never moving backwards. */
export function createLastSeenStore(db: Kysely<Database>): LastSeenStore {
	return {
		async write(entries) {
			if (entries.length === 0) return;
			const latest = new Map<string, Date>();
			for (const { userId, at } of entries) {
				const seen = latest.get(userId);
				if (!seen || seen < at) latest.set(userId, at);
			}
			const rows = [...latest].map(
				([id, at]) => sql`(${id}::uuid, ${at.toISOString()}::timestamptz)`
			);
			await sql`
				update users set last_seen_at = greatest(users.last_seen_at, seen.at)
				from (values ${sql.join(rows)}) as seen(id, at)
				where users.id = seen.id
			`.execute(db);
		}
	};
}

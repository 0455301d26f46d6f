import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any */

// `last_seen_at` is written every time a person comes online or goes offline. It is in no index,
// so Postgres can update the row in place (a HOT update) and leave every index of `users` alone,
// if the row's page has room. Full pages (the default fill) made each write a new row version with
// an entry in every index, the display-name trigram index too, whose pending-list flushes stall
// a backend for milliseconds under a burst of visitors coming online. New pages keep 20 % free.
export async function up(db: Kysely<any>): Promise<void> {
	await sql`alter table users set (fillfactor = 80)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await sql`alter table users reset (fillfactor)`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any */

// The conversation list's search and paging (issue 12). Search matches any part of a visitor's
// name or of a message ("ketl" finds "kettle"), so a b-tree cannot serve it: trigram GIN indexes
// do, for `ilike '%…%'`. Paging walks conversations newest activity first from a cursor; the
// expression index gives that order without sorting the workspace's every conversation, so the
// first page costs the same at 10 conversations or 10,000.
export async function up(db: Kysely<any>): Promise<void> {
	await sql`create extension if not exists pg_trgm`.execute(db);
	await sql`create index users_display_name_trgm on users using gin (display_name gin_trgm_ops)`.execute(
		db
	);
	await sql`create index messages_body_trgm on messages using gin (body gin_trgm_ops)`.execute(db);
	await sql`create index conversations_workspace_recent on conversations
		(workspace_id, (coalesce(last_message_at, created_at)) desc, id desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await sql`drop index if exists conversations_workspace_recent`.execute(db);
	await sql`drop index if exists messages_body_trgm`.execute(db);
	await sql`drop index if exists users_display_name_trgm`.execute(db);
}

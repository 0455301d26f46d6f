import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any */

// A delivered mark per participant, like the read mark: every message of the conversation
// created at or before it reached one of that participant's devices (pushed on a live stream,
// or loaded later). The sender sees "Delivered" from it, also long after sending.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.alterTable('conversation_participants')
		.addColumn('last_delivered_at', sql`timestamptz(3)`)
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.alterTable('conversation_participants').dropColumn('last_delivered_at').execute();
}

import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any */

// Agent sessions, server-side, so logout (and "log out everywhere") can revoke a cookie that is
// still within its signed lifetime. A revoked row is kept until it would have expired anyway.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('sessions')
		.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addColumn('expires_at', 'timestamptz', (c) => c.notNull())
		.addColumn('revoked_at', 'timestamptz')
		.execute();
	await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('sessions').execute();
}

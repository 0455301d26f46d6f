import { sql, type Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any */

// An agent's availability (available / busy / away), set from the inbox header. Durable, so a
// reconnect, a restart or Redis losing its data never resets it. Null for visitors; an agent
// who never chose one reads as available (the default an inbox starts with).
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema.alterTable('users').addColumn('availability', 'text').execute();
	await db.schema
		.alterTable('users')
		.addCheckConstraint(
			'users_availability',
			sql`availability is null or (kind = 'agent' and availability in ('available', 'busy', 'away'))`
		)
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.alterTable('users').dropColumn('availability').execute();
}

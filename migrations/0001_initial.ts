import { sql, type Kysely } from 'kysely';

// Migrations take `Kysely<any>`: they describe the schema as it was then, not as it is now.
/* eslint-disable @typescript-eslint/no-explicit-any */

// Message and read times are kept to the millisecond, as JavaScript's Date is: a read mark set
// from a message's `createdAt` then covers exactly that message, with no microseconds left over.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('workspaces')
		.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('key', 'text', (c) => c.notNull().unique())
		.addColumn('name', 'text', (c) => c.notNull())
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();

	await db.schema
		.createTable('users')
		.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('workspace_id', 'uuid', (c) =>
			c.notNull().references('workspaces.id').onDelete('cascade')
		)
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('agent', 'visitor')`))
		.addColumn('display_name', 'text', (c) => c.notNull())
		.addColumn('email', 'text')
		.addColumn('password_hash', 'text')
		.addColumn('last_seen_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addCheckConstraint(
			'agents_have_credentials',
			sql`kind <> 'agent' or (email is not null and password_hash is not null)`
		)
		.execute();
	// Login looks agents up by email, case-insensitively.
	await db.schema
		.createIndex('users_agent_email')
		.on('users')
		.expression(sql`lower(email)`)
		.unique()
		.where(sql.ref('kind'), '=', 'agent')
		.execute();
	// The inbox lists a workspace's agents (snapshot of who an agent may see).
	await db.schema
		.createIndex('users_workspace_kind')
		.on('users')
		.columns(['workspace_id', 'kind'])
		.execute();

	await db.schema
		.createTable('conversations')
		.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('workspace_id', 'uuid', (c) =>
			c.notNull().references('workspaces.id').onDelete('cascade')
		)
		.addColumn('visitor_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addColumn('last_message_at', sql`timestamptz(3)`)
		.execute();
	// The conversation list, newest activity first, and a visitor's own conversations.
	await db.schema
		.createIndex('conversations_workspace_activity')
		.on('conversations')
		.columns(['workspace_id', 'last_message_at desc'])
		.execute();
	await db.schema
		.createIndex('conversations_visitor')
		.on('conversations')
		.column('visitor_id')
		.execute();

	await db.schema
		.createTable('conversation_participants')
		.addColumn('conversation_id', 'uuid', (c) =>
			c.notNull().references('conversations.id').onDelete('cascade')
		)
		.addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('last_read_at', sql`timestamptz(3)`)
		.addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addPrimaryKeyConstraint('conversation_participants_pk', ['conversation_id', 'user_id'])
		.execute();
	// "My conversations" for a person (the primary key serves "participants of a conversation").
	await db.schema
		.createIndex('conversation_participants_user')
		.on('conversation_participants')
		.column('user_id')
		.execute();

	await db.schema
		.createTable('messages')
		.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('conversation_id', 'uuid', (c) =>
			c.notNull().references('conversations.id').onDelete('cascade')
		)
		.addColumn('sender_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('body', 'text', (c) => c.notNull())
		.addColumn('created_at', sql`timestamptz(3)`, (c) =>
			c.notNull().defaultTo(sql`clock_timestamp()`)
		)
		.execute();
	// Pages of a conversation's messages (keyset by created_at, id) and unread counts.
	await db.schema
		.createIndex('messages_conversation_created')
		.on('messages')
		.columns(['conversation_id', 'created_at', 'id'])
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	for (const table of [
		'messages',
		'conversation_participants',
		'conversations',
		'users',
		'workspaces'
	]) {
		await db.schema.dropTable(table).ifExists().execute();
	}
}

import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** The typed shape of the Postgres schema built by `migrations/`. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
	Date | null,
	Date | string | null | undefined,
	Date | string | null
>;

export type UserKind = 'agent' | 'visitor';

/** An agent's own say on whether they take conversations (migration 0004). */
export type Availability = 'available' | 'busy' | 'away';

export interface WorkspacesTable {
	id: Generated<string>;
	/** Public key the chat widget names its workspace by (not a secret). */
	key: string;
	name: string;
	created_at: Generated<Date>;
}

export interface UsersTable {
	id: Generated<string>;
	workspace_id: string;
	kind: UserKind;
	display_name: string;
	/** Agents only; unique across the product (login takes no workspace). */
	email: string | null;
	password_hash: string | null;
	/** Written when the person comes online and when they go offline. */
	last_seen_at: NullableTimestamp;
	/** Agents only; null = never chosen, which reads as `available`. */
	availability: ColumnType<
		Availability | null,
		Availability | null | undefined,
		Availability | null
	>;
	created_at: Generated<Date>;
}

export interface ConversationsTable {
	id: Generated<string>;
	workspace_id: string;
	visitor_id: string;
	created_at: Generated<Date>;
	last_message_at: NullableTimestamp;
}

export interface ConversationParticipantsTable {
	conversation_id: string;
	user_id: string;
	last_read_at: NullableTimestamp;
	/** Every message created at or before it reached one of this participant's devices. */
	last_delivered_at: NullableTimestamp;
	joined_at: Generated<Date>;
}

export interface MessagesTable {
	id: Generated<string>;
	conversation_id: string;
	sender_id: string;
	body: string;
	created_at: Timestamp;
}

/** Agent sessions (the cookie names one by `sid`); revoked by logout. */
export interface SessionsTable {
	id: Generated<string>;
	user_id: string;
	created_at: Generated<Date>;
	expires_at: Timestamp;
	revoked_at: NullableTimestamp;
}

export interface Database {
	workspaces: WorkspacesTable;
	users: UsersTable;
	conversations: ConversationsTable;
	conversation_participants: ConversationParticipantsTable;
	messages: MessagesTable;
	sessions: SessionsTable;
}

export type Workspace = Selectable<WorkspacesTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Conversation = Selectable<ConversationsTable>;
export type Message = Selectable<MessagesTable>;

import type { Kysely } from 'kysely';
import type { Availability, Database, User } from './schema';

/** Reads and writes of `users` (agents and visitors). */

export async function findAgentByEmail(
	db: Kysely<Database>,
	email: string
): Promise<User | undefined> {
	return db
		.selectFrom('users')
		.selectAll()
		.where('kind', '=', 'agent')
		.where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
		.executeTakeFirst();
}

export async function findUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
	return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findWorkspaceByKey(db: Kysely<Database>, key: string) {
	return db.selectFrom('workspaces').selectAll().where('key', '=', key).executeTakeFirst();
}

/**
 * A new anonymous visitor and their conversation, joined by every agent of the workspace
 * (support inbox: any agent may answer). One transaction: all or nothing.
 */
export async function createVisitorWithConversation(
	db: Kysely<Database>,
	workspaceId: string,
	displayName: string
): Promise<{ visitorId: string; conversationId: string; participantIds: string[] }> {
	return db.transaction().execute(async (trx) => {
		const visitor = await trx
			.insertInto('users')
			.values({ workspace_id: workspaceId, kind: 'visitor', display_name: displayName })
			.returning('id')
			.executeTakeFirstOrThrow();
		const conversation = await trx
			.insertInto('conversations')
			.values({ workspace_id: workspaceId, visitor_id: visitor.id })
			.returning('id')
			.executeTakeFirstOrThrow();
		const agents = await trx
			.selectFrom('users')
			.select('id')
			.where('workspace_id', '=', workspaceId)
			.where('kind', '=', 'agent')
			.execute();
		const participantIds = [visitor.id, ...agents.map((a) => a.id)];
		await trx
			.insertInto('conversation_participants')
			.values(participantIds.map((user_id) => ({ conversation_id: conversation.id, user_id })))
			.execute();
		return { visitorId: visitor.id, conversationId: conversation.id, participantIds };
	});
}

/** The visitor's most recent conversation (the widget resumes it). */
export async function latestConversationOf(db: Kysely<Database>, visitorId: string) {
	return db
		.selectFrom('conversations')
		.select('id')
		.where('visitor_id', '=', visitorId)
		.orderBy('created_at', 'desc')
		.limit(1)
		.executeTakeFirst();
}

/** The workspace's agents and their stored availability (the team's status, per node). */
export async function agentsOf(db: Kysely<Database>, workspaceId: string) {
	return db
		.selectFrom('users')
		.select(['id', 'availability'])
		.where('workspace_id', '=', workspaceId)
		.where('kind', '=', 'agent')
		.execute();
}

/** Stores an agent's availability; false when no agent has that id (nothing written). */
export async function storeAvailability(
	db: Kysely<Database>,
	agent: { userId: string; workspaceId: string },
	availability: Availability
): Promise<boolean> {
	const result = await db
		.updateTable('users')
		.set({ availability })
		.where('id', '=', agent.userId)
		.where('workspace_id', '=', agent.workspaceId)
		.where('kind', '=', 'agent')
		.executeTakeFirst();
	return result.numUpdatedRows > 0n;
}

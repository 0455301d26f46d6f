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

/** A new anonymous visitor: no conversation until they write (or an agent starts one). */
export async function createVisitor(
	db: Kysely<Database>,
	workspaceId: string,
	displayName: string
): Promise<{ visitorId: string }> {
	const visitor = await db
		.insertInto('users')
		.values({ workspace_id: workspaceId, kind: 'visitor', display_name: displayName })
		.returning('id')
		.executeTakeFirstOrThrow();
	return { visitorId: visitor.id };
}

/**
 * The visitor's conversation, begun now if they have none, joined by every agent of the
 * workspace (support inbox: any agent may answer). One transaction that locks the visitor's
 * row first, so two tabs writing their first message at once (or a visitor writing while an
 * agent starts it) end in one conversation, not two. Null when no such visitor is in the workspace.
 */
export async function ensureConversation(
	db: Kysely<Database>,
	workspaceId: string,
	visitorId: string
): Promise<{ conversationId: string; participantIds: string[]; created: boolean } | null> {
	return db.transaction().execute(async (trx) => {
		const visitor = await trx
			.selectFrom('users')
			.select('id')
			.where('id', '=', visitorId)
			.where('workspace_id', '=', workspaceId)
			.where('kind', '=', 'visitor')
			.forUpdate()
			.executeTakeFirst();
		if (!visitor) return null;
		const existing = await latestConversationOf(trx, visitorId);
		if (existing) return { conversationId: existing.id, participantIds: [], created: false };
		const conversation = await trx
			.insertInto('conversations')
			.values({ workspace_id: workspaceId, visitor_id: visitorId })
			.returning('id')
			.executeTakeFirstOrThrow();
		const agents = await trx
			.selectFrom('users')
			.select('id')
			.where('workspace_id', '=', workspaceId)
			.where('kind', '=', 'agent')
			.execute();
		const participantIds = [visitorId, ...agents.map((a) => a.id)];
		await trx
			.insertInto('conversation_participants')
			.values(participantIds.map((user_id) => ({ conversation_id: conversation.id, user_id })))
			.execute();
		return { conversationId: conversation.id, participantIds, created: true };
	});
}

/** A visitor and their conversation at once (the seed and test fixtures: people who already wrote). */
export async function createVisitorWithConversation(
	db: Kysely<Database>,
	workspaceId: string,
	displayName: string
): Promise<{ visitorId: string; conversationId: string; participantIds: string[] }> {
	const { visitorId } = await createVisitor(db, workspaceId, displayName);
	const started = await ensureConversation(db, workspaceId, visitorId);
	return {
		visitorId,
		conversationId: started!.conversationId,
		participantIds: started!.participantIds
	};
}

/**
 * The visitors among `ids` (people the engine says are online), each with their latest
 * conversation if any: one query whatever the number.
 */
export async function visitorsAmong(
	db: Kysely<Database>,
	workspaceId: string,
	ids: readonly string[]
) {
	if (ids.length === 0) return [];
	return db
		.selectFrom('users as v')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('conversations as c')
					.select('c.id')
					.whereRef('c.visitor_id', '=', 'v.id')
					.orderBy('c.created_at', 'desc')
					.limit(1)
					.as('c'),
			(join) => join.onTrue()
		)
		.select(['v.id', 'v.display_name', 'v.last_seen_at', 'c.id as conversation_id'])
		.where('v.workspace_id', '=', workspaceId)
		.where('v.kind', '=', 'visitor')
		.where('v.id', '=', (eb) => eb.fn.any(eb.val([...ids])))
		.execute();
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

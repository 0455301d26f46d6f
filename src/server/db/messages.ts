import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** Messages: keyset pages, sending (with the conversation's activity time), read marks. */

export const MESSAGE_PAGE_SIZE = 50;

/** Opaque to clients: `<created_at ISO>|<id>` of the oldest message of the previous page. */
export function encodeCursor(createdAt: Date, id: string): string {
	return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
	const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
	const createdAt = new Date(iso ?? '');
	if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) return null;
	return { createdAt, id };
}

/** One page, newest first; the caller reverses for display. */
export async function messagesPage(
	db: Kysely<Database>,
	conversationId: string,
	before: { createdAt: Date; id: string } | null,
	limit = MESSAGE_PAGE_SIZE
) {
	let query = db
		.selectFrom('messages as m')
		.innerJoin('users as s', 's.id', 'm.sender_id')
		.select([
			'm.id',
			'm.conversation_id',
			'm.sender_id',
			's.display_name as sender_name',
			'm.body',
			'm.created_at'
		])
		.where('m.conversation_id', '=', conversationId)
		.orderBy('m.created_at', 'desc')
		.orderBy('m.id', 'desc')
		.limit(limit + 1);
	if (before) {
		query = query.where((eb) =>
			eb.or([
				eb('m.created_at', '<', before.createdAt),
				eb.and([eb('m.created_at', '=', before.createdAt), eb('m.id', '<', before.id)])
			])
		);
	}
	const rows = await query.execute();
	const page = rows.slice(0, limit);
	const last = page.at(-1);
	return {
		rows: page,
		nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null
	};
}

/** Stores a message and bumps the conversation's activity, in one transaction. */
export async function insertMessage(
	db: Kysely<Database>,
	message: { conversationId: string; senderId: string; body: string }
) {
	return db.transaction().execute(async (trx) => {
		const row = await trx
			.insertInto('messages')
			.values({
				conversation_id: message.conversationId,
				sender_id: message.senderId,
				body: message.body
			})
			.returning(['id', 'conversation_id', 'sender_id', 'body', 'created_at'])
			.executeTakeFirstOrThrow();
		await trx
			.updateTable('conversations')
			.set({ last_message_at: row.created_at })
			.where('id', '=', message.conversationId)
			.execute();
		// The sender has read everything up to their own message.
		await trx
			.updateTable('conversation_participants')
			.set({ last_read_at: row.created_at })
			.where('conversation_id', '=', message.conversationId)
			.where('user_id', '=', message.senderId)
			.execute();
		return row;
	});
}

/**
 * Marks read up to `at` (default: the database's clock, so every stored message counts) for
 * these participants; never moves a read mark backwards. Returns the time written.
 */
export async function markRead(
	db: Kysely<Database>,
	conversationId: string,
	userIds: string[],
	at?: Date
): Promise<Date | null> {
	if (userIds.length === 0) return null;
	const mark = at ?? sql<Date>`clock_timestamp()`;
	const rows = await db
		.updateTable('conversation_participants')
		.set({ last_read_at: sql`greatest(last_read_at, ${mark})` })
		.where('conversation_id', '=', conversationId)
		.where('user_id', 'in', userIds)
		.returning('last_read_at')
		.execute();
	return rows[0]?.last_read_at ?? null;
}

/**
 * Moves these participants' delivered marks up to `at` (never backwards). Returns the ids whose
 * mark moved: only they are news to the other participants.
 */
export async function markDelivered(
	db: Kysely<Database>,
	conversationId: string,
	userIds: readonly string[],
	at: Date
): Promise<string[]> {
	if (userIds.length === 0) return [];
	const rows = await db
		.updateTable('conversation_participants')
		.set({ last_delivered_at: at })
		.where('conversation_id', '=', conversationId)
		.where('user_id', 'in', [...userIds])
		.where((eb) => eb.or([eb('last_delivered_at', 'is', null), eb('last_delivered_at', '<', at)]))
		.returning('user_id')
		.execute();
	return rows.map((r) => r.user_id);
}

/** Unread messages for one participant of one conversation. */
export async function unreadCount(db: Kysely<Database>, conversationId: string, userId: string) {
	const row = await db
		.selectFrom('messages as m')
		.innerJoin('conversation_participants as p', (join) =>
			join.onRef('p.conversation_id', '=', 'm.conversation_id').on('p.user_id', '=', userId)
		)
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('m.conversation_id', '=', conversationId)
		.where('m.sender_id', '<>', userId)
		.where((eb) =>
			eb.or([eb('p.last_read_at', 'is', null), eb('m.created_at', '>', eb.ref('p.last_read_at'))])
		)
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

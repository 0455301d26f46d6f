import { sql, type Kysely } from 'kysely';
import { prepared } from './prepared';
import type { Availability, Database, UserKind } from './schema';

/** Reads of conversations and their participants (SQL only; presence is filled in by routers). */

export async function conversationInWorkspace(db: Kysely<Database>, conversationId: string) {
	return db
		.selectFrom('conversations')
		.select(['id', 'workspace_id', 'visitor_id'])
		.where('id', '=', conversationId)
		.executeTakeFirst();
}

export async function isParticipant(db: Kysely<Database>, conversationId: string, userId: string) {
	const row = await db
		.selectFrom('conversation_participants')
		.select('user_id')
		.where('conversation_id', '=', conversationId)
		.where('user_id', '=', userId)
		.executeTakeFirst();
	return row !== undefined;
}

export async function participantsOf(db: Kysely<Database>, conversationId: string) {
	return db
		.selectFrom('conversation_participants as p')
		.innerJoin('users as u', 'u.id', 'p.user_id')
		.select([
			'u.id',
			'u.kind',
			'u.display_name',
			'u.last_seen_at',
			'u.availability',
			'p.last_read_at',
			'p.last_delivered_at'
		])
		.where('p.conversation_id', '=', conversationId)
		.orderBy('u.kind')
		.orderBy('u.display_name')
		.execute();
}

/** Ids of the conversations a person takes part in (stream status: "chatting with me"). */
export async function conversationIdsOf(db: Kysely<Database>, userId: string): Promise<string[]> {
	const rows = await db
		.selectFrom('conversation_participants')
		.select('conversation_id')
		.where('user_id', '=', userId)
		.execute();
	return rows.map((r) => r.conversation_id);
}

/**
 * Everyone a person may see (docs/design.md §6): for an agent, everyone of the workspace (its
 * agents, and every visitor: also those browsing without a conversation, whom the inbox lists
 * as "visitors online now"); for a visitor, the participants of their conversations.
 */
export async function audienceOf(
	db: Kysely<Database>,
	viewer: { kind: 'agent' | 'visitor'; userId: string; workspaceId: string },
	/** Only these of them (a status lookup), instead of everyone. */
	onlyIds?: readonly string[]
) {
	const sharing = db
		.selectFrom('conversation_participants as mine')
		.innerJoin(
			'conversation_participants as other',
			'other.conversation_id',
			'mine.conversation_id'
		)
		.select('other.user_id')
		.where('mine.user_id', '=', viewer.userId);
	let query = db
		.selectFrom('users')
		.select(['id', 'kind', 'display_name', 'last_seen_at', 'availability'])
		.where('workspace_id', '=', viewer.workspaceId);
	if (viewer.kind === 'visitor') query = query.where('id', 'in', sharing);
	if (onlyIds) query = query.where('id', '=', (eb) => eb.fn.any(eb.val([...onlyIds])));
	return query.execute();
}

/** Which of the caller's conversations a list shows (`conversations.list`'s filters). */
export interface ConversationFilter {
	/** Part of the visitor's name or of any message, case-insensitive (trigram indexes). */
	search?: string;
	/** Only these visitors (the engine's "online now"; an empty list matches nothing). */
	visitorIds?: readonly string[];
	/** Only conversations with messages the caller has not read. */
	unread?: boolean;
	/** Only conversations the caller wrote in (there is no assignment: every agent joins every one). */
	answeredByMe?: boolean;
	/** After this position (the last row of the previous page), in the list's order. */
	after?: { activity: string; id: string };
}

/** `%`, `_` and `\` are `like` syntax: a search for "100%" means those characters. */
function likePattern(text: string): string {
	return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * One page of the caller's conversations, most recent activity first (ties by id), with the
 * visitor, last message and unread count: ONE query. It walks `conversations_workspace_recent`
 * in order and stops at `limit`, so a page costs the same whatever the workspace's size.
 */
export async function conversationsOf(
	db: Kysely<Database>,
	caller: { userId: string; workspaceId: string },
	limit: number,
	filter: ConversationFilter = {}
) {
	const activity = sql<Date>`coalesce(c.last_message_at, c.created_at)`;
	let query = db
		.selectFrom('conversations as c')
		.innerJoin('conversation_participants as me', (join) =>
			join.onRef('me.conversation_id', '=', 'c.id').on('me.user_id', '=', caller.userId)
		)
		.innerJoin('users as v', 'v.id', 'c.visitor_id')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('messages as m')
					.select(['m.id', 'm.body', 'm.sender_id', 'm.created_at'])
					.whereRef('m.conversation_id', '=', 'c.id')
					.orderBy('m.created_at', 'desc')
					.orderBy('m.id', 'desc')
					.limit(1)
					.as('last'),
			(join) => join.onTrue()
		)
		.select((eb) => [
			'c.id',
			'c.created_at',
			'c.last_message_at',
			// As text: a Date keeps milliseconds, Postgres microseconds, and a cursor must be exact.
			sql<string>`${activity}::text`.as('activity'),
			'v.id as visitor_id',
			'v.display_name as visitor_name',
			'v.last_seen_at as visitor_last_seen_at',
			'last.id as last_message_id',
			'last.body as last_message_body',
			'last.sender_id as last_message_sender_id',
			'last.created_at as last_message_created_at',
			eb
				.selectFrom('messages as u')
				.select(sql<number>`count(*)::int`.as('n'))
				.whereRef('u.conversation_id', '=', 'c.id')
				.whereRef('u.sender_id', '<>', 'me.user_id')
				.where((w) =>
					w.or([w('me.last_read_at', 'is', null), w('u.created_at', '>', w.ref('me.last_read_at'))])
				)
				.as('unread')
		])
		.where('c.workspace_id', '=', caller.workspaceId);
	if (filter.search) {
		const pattern = likePattern(filter.search);
		// Two sets from the trigram indexes, not a test per conversation: with a rare word, a
		// per-row `exists` walked every conversation of the workspace (10,000: 100-400 ms).
		query = query.where((eb) =>
			eb.or([
				eb(
					'c.visitor_id',
					'in',
					eb
						.selectFrom('users as sv')
						.select('sv.id')
						.where('sv.workspace_id', '=', caller.workspaceId)
						.where('sv.display_name', 'ilike', pattern)
				),
				eb(
					'c.id',
					'in',
					eb
						.selectFrom('messages as s')
						.select('s.conversation_id')
						.where('s.body', 'ilike', pattern)
				)
			])
		);
	}
	if (filter.visitorIds) {
		const ids = [...filter.visitorIds];
		query = query.where('c.visitor_id', '=', (eb) => eb.fn.any(eb.val(ids)));
	}
	if (filter.unread) {
		query = query.where((eb) =>
			eb.exists(
				eb
					.selectFrom('messages as n')
					.select(sql`1`.as('one'))
					.whereRef('n.conversation_id', '=', 'c.id')
					.whereRef('n.sender_id', '<>', 'me.user_id')
					.where((w) =>
						w.or([
							w('me.last_read_at', 'is', null),
							w('n.created_at', '>', w.ref('me.last_read_at'))
						])
					)
			)
		);
	}
	if (filter.answeredByMe) {
		query = query.where((eb) =>
			eb.exists(
				eb
					.selectFrom('messages as a')
					.select(sql`1`.as('one'))
					.whereRef('a.conversation_id', '=', 'c.id')
					.where('a.sender_id', '=', caller.userId)
			)
		);
	}
	if (filter.after) {
		const { activity: at, id } = filter.after;
		query = query.where(sql<boolean>`(${activity}, c.id) < (${at}::timestamptz, ${id}::uuid)`);
	}
	return query.orderBy(activity, 'desc').orderBy('c.id', 'desc').limit(limit).execute();
}

export interface AudienceRow {
	id: string;
	last_seen_at: Date | null;
	kind: UserKind;
	availability: Availability | null;
}

/** Whose scope `viewerScopesOf` reads. */
export interface ScopeViewer {
	kind: 'agent' | 'visitor';
	userId: string;
	workspaceId: string;
}

export interface ViewerScopeRows {
	audience: AudienceRow[];
	conversationIds: string[];
}

/**
 * Streams' scopes in ONE query (opening a stream is a hot path; `ScopeReader` gathers the opens
 * of a burst into it): for each viewer, everyone they may see (as `audienceOf`) with their
 * stored `last_seen_at`, and the ids of their conversations. Results are in the order of
 * `viewers`. The people are gathered first (participants by index, agents by
 * `users_workspace_kind`) and then joined to `users`: an `or` over the workspace's users made
 * Postgres scan all of them, a cost per open that grew with the workspace (1.6 ms at 20,000
 * visitors, 0.1 ms this way).
 */
export async function viewerScopesOf(
	db: Kysely<Database>,
	viewers: readonly ScopeViewer[]
): Promise<ViewerScopeRows[]> {
	const { rows } = await sql<{
		n: string;
		id: string | null;
		last_seen_at: Date | null;
		kind: UserKind | null;
		availability: Availability | null;
		conversation_id: string | null;
	}>`${prepared('viewer-scopes')}
		with v as (
			select * from unnest(${viewers.map((v) => v.userId)}::uuid[],
				${viewers.map((v) => v.workspaceId)}::uuid[],
				${viewers.map((v) => v.kind === 'agent')}::boolean[])
				with ordinality as v(user_id, workspace_id, agents_too, n)
		),
		mine as (
			select v.n, p.conversation_id from v
			join conversation_participants p on p.user_id = v.user_id
		),
		seen as (
			select m.n, p.user_id as id from mine m
			join conversation_participants p on p.conversation_id = m.conversation_id
			union
			select v.n, u.id from v
			join users u on v.agents_too and u.workspace_id = v.workspace_id and u.kind = 'agent'
		)
		select n, null::uuid as id, null::timestamptz as last_seen_at, null::text as kind,
			null::text as availability, conversation_id from mine
		union all
		select s.n, u.id, u.last_seen_at, u.kind, u.availability, null::uuid
		from seen s join v on v.n = s.n join users u on u.id = s.id
		where u.workspace_id = v.workspace_id
	`.execute(db);
	const scopes: ViewerScopeRows[] = viewers.map(() => ({ audience: [], conversationIds: [] }));
	for (const row of rows) {
		// `with ordinality` counts from 1; bigint arrives as a string.
		const scope = scopes[Number(row.n) - 1]!;
		if (row.conversation_id !== null) scope.conversationIds.push(row.conversation_id);
		else if (row.id !== null)
			scope.audience.push({
				id: row.id,
				last_seen_at: row.last_seen_at,
				kind: row.kind ?? 'visitor',
				availability: row.availability
			});
	}
	return scopes;
}

import { hashPassword } from '../../src/server/auth/password';
import { issueToken, SESSION_TTL_SECONDS } from '../../src/server/auth/tokens';
import { createVisitorWithConversation } from '../../src/server/db/people';
import type { Services } from '../../src/server/services';

/** A workspace with agents and visitors, and credentials for each (no HTTP needed). */

export interface TestPerson {
	id: string;
	workspaceId: string;
	displayName: string;
}
export interface TestAgent extends TestPerson {
	email: string;
	password: string;
	sessionToken: string;
}
export interface TestVisitor extends TestPerson {
	visitorToken: string;
	conversationId: string;
}
export interface TestWorkspace {
	id: string;
	key: string;
	agents: TestAgent[];
	visitors: TestVisitor[];
}

let counter = 0;

/** A server-side session, as login makes one (agent cookies name it). */
export async function createSessionRow(db: Services['db'], userId: string): Promise<string> {
	const row = await db
		.insertInto('sessions')
		.values({ user_id: userId, expires_at: new Date(Date.now() + SESSION_TTL_SECONDS * 1000) })
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

export async function createWorkspace(
	services: Pick<Services, 'db' | 'config'>,
	options: { agents?: number; visitors?: number } = {}
): Promise<TestWorkspace> {
	const { db, config } = services;
	const n = ++counter;
	const key = `ws-${n}-${Math.random().toString(36).slice(2, 8)}`;
	const workspace = await db
		.insertInto('workspaces')
		.values({ key, name: `Workspace ${n}` })
		.returning('id')
		.executeTakeFirstOrThrow();
	const password = 'test-password';
	const passwordHash = await hashPassword(password);
	const agents: TestAgent[] = [];
	for (let i = 0; i < (options.agents ?? 2); i++) {
		const email = `agent${i}@${key}.test`;
		const row = await db
			.insertInto('users')
			.values({
				workspace_id: workspace.id,
				kind: 'agent',
				display_name: `Agent ${i} of ${key}`,
				email,
				password_hash: passwordHash
			})
			.returning(['id', 'display_name'])
			.executeTakeFirstOrThrow();
		agents.push({
			id: row.id,
			workspaceId: workspace.id,
			displayName: row.display_name,
			email,
			password,
			sessionToken: issueToken(
				{ kind: 'agent', sub: row.id, ws: workspace.id, sid: await createSessionRow(db, row.id) },
				config.SESSION_SECRET,
				SESSION_TTL_SECONDS
			)
		});
	}
	const visitors: TestVisitor[] = [];
	for (let i = 0; i < (options.visitors ?? 2); i++) {
		const displayName = `Visitor ${i} of ${key}`;
		const created = await createVisitorWithConversation(db, workspace.id, displayName);
		visitors.push({
			id: created.visitorId,
			workspaceId: workspace.id,
			displayName,
			conversationId: created.conversationId,
			visitorToken: issueToken(
				{ kind: 'visitor', sub: created.visitorId, ws: workspace.id },
				config.SESSION_SECRET,
				3600
			)
		});
	}
	return { id: workspace.id, key, agents, visitors };
}

/** Row counts, to prove a refused call wrote nothing. */
export async function rowCounts(services: Pick<Services, 'db'>) {
	const count = async (table: 'users' | 'messages' | 'conversations' | 'workspaces') =>
		Number(
			(
				await services.db
					.selectFrom(table)
					.select((eb) => eb.fn.countAll<string>().as('n'))
					.executeTakeFirstOrThrow()
			).n
		);
	return {
		users: await count('users'),
		messages: await count('messages'),
		conversations: await count('conversations'),
		workspaces: await count('workspaces')
	};
}

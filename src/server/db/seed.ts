import type { Kysely } from 'kysely';
import { hashPassword } from '../auth/password';
import { createVisitorWithConversation } from './people';
import type { Database } from './schema';

/**
 * The demo workspace the run command serves. Idempotent: an existing `demo` workspace is kept.
 * These credentials are demo defaults, printed at start and listed in the README.
 */
export const DEMO_WORKSPACE_KEY = 'demo';
export const DEMO_AGENTS = [
	{ email: 'ada@demo.test', password: 'demo-password', displayName: 'Ada (agent)' },
	{ email: 'grace@demo.test', password: 'demo-password', displayName: 'Grace (agent)' }
] as const;

const DEMO_VISITORS: { name: string; lines: [from: 'visitor' | 'agent', body: string][] }[] = [
	{
		name: 'Visitor from Lisbon',
		lines: [
			['visitor', 'Hi! Do you ship to Portugal?'],
			['agent', 'We do: 3 to 5 working days.'],
			['visitor', 'Great, thanks!']
		]
	},
	{
		name: 'Visitor from Oslo',
		lines: [
			['visitor', 'Is the blue kettle back in stock?'],
			['agent', 'Next week. Shall I tell you when it arrives?']
		]
	},
	{ name: 'Visitor from Austin', lines: [['visitor', 'Can I change the address on my order?']] },
	{ name: 'Visitor from Nairobi', lines: [] }
];

export async function seedDemo(db: Kysely<Database>, logger: Pick<Console, 'info'> = console) {
	const existing = await db
		.selectFrom('workspaces')
		.select('id')
		.where('key', '=', DEMO_WORKSPACE_KEY)
		.executeTakeFirst();
	if (!existing) {
		const workspace = await db
			.insertInto('workspaces')
			.values({ key: DEMO_WORKSPACE_KEY, name: 'Demo shop' })
			.onConflict((oc) => oc.column('key').doNothing())
			.returning('id')
			.executeTakeFirst();
		// Another node seeding at the same moment won the insert: its seed stands.
		if (workspace) await seedWorkspace(db, workspace.id);
	}
	logger.info(
		`[seed] demo workspace "${DEMO_WORKSPACE_KEY}"; agents: ${DEMO_AGENTS.map((a) => `${a.email} / ${a.password}`).join(', ')}`
	);
}

async function seedWorkspace(db: Kysely<Database>, workspaceId: string) {
	const agentIds: string[] = [];
	for (const agent of DEMO_AGENTS) {
		const row = await db
			.insertInto('users')
			.values({
				workspace_id: workspaceId,
				kind: 'agent',
				display_name: agent.displayName,
				email: agent.email,
				password_hash: await hashPassword(agent.password)
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		agentIds.push(row.id);
	}
	let minutesAgo = DEMO_VISITORS.length * 30;
	for (const visitor of DEMO_VISITORS) {
		const { visitorId, conversationId } = await createVisitorWithConversation(
			db,
			workspaceId,
			visitor.name
		);
		for (const [from, body] of visitor.lines) {
			const created_at = new Date(Date.now() - minutesAgo-- * 60_000);
			await db
				.insertInto('messages')
				.values({
					conversation_id: conversationId,
					sender_id: from === 'visitor' ? visitorId : agentIds[0]!,
					body,
					created_at
				})
				.execute();
			await db
				.updateTable('conversations')
				.set({ last_message_at: created_at })
				.where('id', '=', conversationId)
				.execute();
		}
		minutesAgo -= 20;
	}
}

import type { Kysely } from 'kysely';
import { hashPassword } from '../auth/password';
import { distinctVisitorNames, seededRandom } from '../names';
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
		name: 'Brave Otter',
		lines: [
			['visitor', 'Hi! Do you ship to Portugal?'],
			['agent', 'We do: 3 to 5 working days.'],
			['visitor', 'Great, thanks!']
		]
	},
	{
		name: 'Sunny Heron',
		lines: [
			['visitor', 'Is the blue kettle back in stock?'],
			['agent', 'Next week. Shall I tell you when it arrives?']
		]
	},
	{ name: 'Quiet Lynx', lines: [['visitor', 'Can I change the address on my order?']] },
	{ name: 'Golden Finch', lines: [] }
];

/**
 * Enough generated history that the inbox pages and its search has something to find: this many
 * more visitors, each with a conversation of a few messages, older than the scripted ones.
 */
export const GENERATED_CONVERSATIONS = 220;
const SEED = 20261203;

const OPENERS = [
	'Hi, is the enamel kettle dishwasher safe?',
	'Do you ship to Canada?',
	'My order has not arrived yet, can you check?',
	'Can I return a mug I bought last week?',
	'Is the linen apron available in blue?',
	'Do you have gift wrapping?',
	'What is the warranty on the coffee grinder?',
	'Can I pick up my order in the shop?',
	'The teapot lid arrived cracked.',
	'Is there a discount for ordering ten cups?',
	'How long does express delivery take?',
	'Can I change the size of my order?'
];
const AGENT_REPLIES = [
	'Thanks for asking! Let me check that for you.',
	'Yes, it is.',
	'I have sent you an email with the details.',
	'Sorry about that, a replacement is on its way.',
	'Usually 2 to 4 working days.'
];
const FOLLOW_UPS = ['Thank you!', 'Perfect, thanks.', 'Great, that helps.', 'OK, I will wait.'];

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
	await seedGenerated(db, workspaceId, agentIds);
}

/**
 * The generated visitors, in four statements whatever their number (a start stays quick):
 * visitors, conversations, participants, messages. Stable: the same PRNG seed every time.
 */
async function seedGenerated(db: Kysely<Database>, workspaceId: string, agentIds: string[]) {
	const random = seededRandom(SEED);
	const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
	const taken = new Set(DEMO_VISITORS.map((v) => v.name));
	const names = distinctVisitorNames(GENERATED_CONVERSATIONS + taken.size, random)
		.filter((name) => !taken.has(name))
		.slice(0, GENERATED_CONVERSATIONS);
	const visitors = await db
		.insertInto('users')
		.values(
			names.map((display_name) => ({ workspace_id: workspaceId, kind: 'visitor', display_name }))
		)
		.returning('id')
		.execute();
	// Older than the scripted conversations: from 3 hours to about 30 days ago.
	const now = Date.now();
	const starts = visitors.map(
		(_, i) => now - (3 * 60 + i * 190 + Math.floor(random() * 60)) * 60_000
	);
	const lines = visitors.map((_, i) => {
		const at = (k: number) => new Date(starts[i]! + k * 2 * 60_000);
		const agent = pick(agentIds);
		const thread = [{ sender: 'visitor', body: pick(OPENERS), created_at: at(0) }];
		if (random() < 0.7)
			thread.push({ sender: agent, body: pick(AGENT_REPLIES), created_at: at(1) });
		if (thread.length > 1 && random() < 0.5)
			thread.push({ sender: 'visitor', body: pick(FOLLOW_UPS), created_at: at(2) });
		return thread;
	});
	const conversations = await db
		.insertInto('conversations')
		.values(
			visitors.map((v, i) => ({
				workspace_id: workspaceId,
				visitor_id: v.id,
				created_at: new Date(starts[i]!),
				last_message_at: lines[i]!.at(-1)!.created_at
			}))
		)
		.returning(['id', 'visitor_id'])
		.execute();
	await db
		.insertInto('conversation_participants')
		.values(
			conversations.flatMap((c) =>
				[c.visitor_id, ...agentIds].map((user_id) => ({
					conversation_id: c.id,
					user_id,
					// The team has read the history: the unread ones are the scripted few.
					last_read_at: user_id === c.visitor_id ? null : new Date(now)
				}))
			)
		)
		.execute();
	await db
		.insertInto('messages')
		.values(
			conversations.flatMap((c, i) =>
				lines[i]!.map((line) => ({
					conversation_id: c.id,
					sender_id: line.sender === 'visitor' ? c.visitor_id : line.sender,
					body: line.body,
					created_at: line.created_at
				}))
			)
		)
		.execute();
}

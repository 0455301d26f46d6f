import { beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, rowCounts, type TestWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';

/**
 * `conversations.list`: search (visitor name, message text), filters (online, unread, mine) and
 * cursor paging, on real Postgres with its trigram indexes.
 */

const t = useTestServices();
let ws: TestWorkspace;

beforeAll(async () => {
	ws = await createWorkspace(t.services, { agents: 2, visitors: 7 });
	const { db } = t.services;
	// Stable order: visitor i's conversation was active i minutes ago (all within one second
	// would make ties, which the id breaks; a test of that is below).
	for (const [i, v] of ws.visitors.entries()) {
		await db
			.updateTable('conversations')
			.set({ last_message_at: new Date(Date.now() - (i + 1) * 60_000) })
			.where('id', '=', v.conversationId)
			.execute();
	}
	await db
		.updateTable('users')
		.set({ display_name: 'Brave Otter' })
		.where('id', '=', ws.visitors[2]!.id)
		.execute();
});

const agent = () => t.caller({ sessionToken: ws.agents[0]!.sessionToken });

describe('conversations.list', () => {
	it('pages by cursor, newest activity first, never skipping or repeating', async () => {
		const first = await agent().conversations.list({ limit: 3 });
		expect(first.map((c) => c.id)).toEqual(ws.visitors.slice(0, 3).map((v) => v.conversationId));
		const second = await agent().conversations.list({ limit: 3, cursor: first.at(-1)!.cursor });
		const third = await agent().conversations.list({ limit: 3, cursor: second.at(-1)!.cursor });
		expect([...first, ...second, ...third].map((c) => c.id)).toEqual(
			ws.visitors.map((v) => v.conversationId)
		);
		expect(third).toHaveLength(1);
	});

	it('ties on activity are broken by id (microsecond-exact cursors)', async () => {
		const tied = await createWorkspace(t.services, { agents: 1, visitors: 5 });
		const at = new Date();
		await t.services.db
			.updateTable('conversations')
			.set({ last_message_at: at })
			.where('workspace_id', '=', tied.id)
			.execute();
		const caller = t.caller({ sessionToken: tied.agents[0]!.sessionToken });
		const seen: string[] = [];
		let cursor: string | undefined;
		for (;;) {
			const page = await caller.conversations.list({ limit: 2, cursor });
			seen.push(...page.map((c) => c.id));
			if (page.length < 2) break;
			cursor = page.at(-1)!.cursor;
		}
		expect([...seen].sort()).toEqual(tied.visitors.map((v) => v.conversationId).sort());
	});

	it('searches visitor names and message text, case-insensitively and literally', async () => {
		const v4 = ws.visitors[4]!;
		await t
			.caller({ visitorToken: v4.visitorToken })
			.messages.send({ conversationId: v4.conversationId, body: 'Is the Blue KETTLE 100% steel?' });
		expect((await agent().conversations.list({ search: 'kettle' })).map((c) => c.id)).toEqual([
			v4.conversationId
		]);
		expect((await agent().conversations.list({ search: 'otter' })).map((c) => c.id)).toEqual([
			ws.visitors[2]!.conversationId
		]);
		expect((await agent().conversations.list({ search: '100%' })).map((c) => c.id)).toEqual([
			v4.conversationId
		]);
		// `%` and `_` are not wildcards.
		expect(await agent().conversations.list({ search: '_' })).toEqual([]);
		expect(await agent().conversations.list({ search: 'nothing like it' })).toEqual([]);
	});

	it('filters unread and mine', async () => {
		const v5 = ws.visitors[5]!;
		const v6 = ws.visitors[6]!;
		const a0 = agent();
		await t
			.caller({ visitorToken: v5.visitorToken })
			.messages.send({ conversationId: v5.conversationId, body: 'Anyone there?' });
		await a0.messages.send({ conversationId: v6.conversationId, body: 'Hello from Ada' });
		const unread = (await a0.conversations.list({ filter: 'unread' })).map((c) => c.id);
		expect(unread).toContain(v5.conversationId);
		expect(unread).not.toContain(v6.conversationId);
		expect((await a0.conversations.list({ filter: 'mine' })).map((c) => c.id)).toEqual([
			v6.conversationId
		]);
		// The other agent wrote nowhere.
		expect(
			await t
				.caller({ sessionToken: ws.agents[1]!.sessionToken })
				.conversations.list({ filter: 'mine' })
		).toEqual([]);
	});

	it('filters online now, following presence', async () => {
		const v1 = ws.visitors[1]!;
		expect(await agent().conversations.list({ filter: 'online' })).toEqual([]);
		const controller = new AbortController();
		const iterable = (await t
			.caller({ visitorToken: v1.visitorToken }, controller.signal)
			.presence.connect()) as AsyncGenerator<unknown>;
		await iterable.next();
		const online = await agent().conversations.list({ filter: 'online' });
		expect(online.map((c) => c.id)).toEqual([v1.conversationId]);
		expect(online[0]!.visitor).toMatchObject({ isOnline: true });
		controller.abort();
	});

	it('refuses bad input (oversized page or search, forged cursor) with BAD_REQUEST, writing nothing', async () => {
		const before = await rowCounts(t.services);
		for (const input of [
			{ limit: 1000 },
			{ limit: 0 },
			{ search: 'x'.repeat(101) },
			{ filter: 'everything' },
			{ cursor: 'not-a-cursor' },
			{ cursor: Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url') }
		]) {
			await expect(
				// eslint-disable-next-line @typescript-eslint/no-explicit-any
				agent().conversations.list(input as any)
			).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		}
		expect(await rowCounts(t.services)).toEqual(before);
	});
});

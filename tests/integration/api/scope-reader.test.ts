import type { KyselyPlugin } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { ScopeViewer } from '../../../src/server/db/conversations';
import { ScopeReader } from '../../../src/server/streams/scope-reader';
import { openConnection } from '../../../src/server/streams/viewer-scope';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';

/**
 * Streams opening in the same loop turn share one Postgres query for their scopes; each still
 * gets exactly its own: who it may see and which conversations are its own.
 */

const t = useTestServices();

/** Counts the queries a Kysely handle sends. */
function counting(): { plugin: KyselyPlugin; queries: () => number } {
	let n = 0;
	return {
		plugin: {
			transformQuery: ({ node }) => (n++, node),
			transformResult: async ({ result }) => result
		},
		queries: () => n
	};
}

const sorted = (ids: string[]) => [...ids].sort();

/** The workspace's `i`th visitor, as a stream opening would read their scope. */
const visitorViewer = (ws: TestWorkspace, i: number): ScopeViewer => ({
	kind: 'visitor',
	userId: ws.visitors[i]!.id,
	workspaceId: ws.id
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('ScopeReader', () => {
	it('reads the scopes of one turn in one query, each viewer its own', async () => {
		const one = await createWorkspace(t.services, { agents: 2, visitors: 2 });
		const two = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [agent, teammate] = one.agents;
		const [visitor, other] = one.visitors;
		// Each visitor's conversation has both agents; an agent who joined later is in none.
		const late = await t.services.db
			.insertInto('users')
			.values({
				workspace_id: one.id,
				kind: 'agent',
				display_name: 'Late',
				password_hash: 'not-used',
				email: `late@${one.key}.test`
			})
			.returning('id')
			.executeTakeFirstOrThrow();

		const viewers: ScopeViewer[] = [
			{ kind: 'agent', userId: agent!.id, workspaceId: one.id },
			{ kind: 'agent', userId: late.id, workspaceId: one.id },
			{ kind: 'visitor', userId: visitor!.id, workspaceId: one.id },
			{ kind: 'visitor', userId: other!.id, workspaceId: one.id },
			{ kind: 'agent', userId: two.agents[0]!.id, workspaceId: two.id },
			// The same visitor twice in one turn (two tabs): both get the scope.
			{ kind: 'visitor', userId: visitor!.id, workspaceId: one.id }
		];
		const count = counting();
		const reader = new ScopeReader(t.services.db.withPlugin(count.plugin));
		const scopes = await Promise.all(viewers.map((viewer) => reader.read(viewer)));
		expect(count.queries()).toBe(1);

		const people = scopes.map((scope) => sorted(scope.audience.map((row) => row.id)));
		const conversations = scopes.map((scope) => sorted(scope.conversationIds));
		const agentsOfOne = [agent!.id, teammate!.id, late.id];
		// An agent: the workspace's agents and the people of their conversations.
		expect(people[0]).toEqual(sorted([...agentsOfOne, visitor!.id, other!.id]));
		expect(conversations[0]).toEqual(sorted([visitor!.conversationId, other!.conversationId]));
		expect(people[1]).toEqual(sorted(agentsOfOne));
		expect(conversations[1]).toEqual([]);
		// A visitor: the people of their own conversation, nobody else.
		expect(people[2]).toEqual(sorted([visitor!.id, agent!.id, teammate!.id]));
		expect(conversations[2]).toEqual([visitor!.conversationId]);
		expect(people[3]).toEqual(sorted([other!.id, agent!.id, teammate!.id]));
		expect(conversations[3]).toEqual([other!.conversationId]);
		// Another workspace's agent sees only their own workspace.
		expect(people[4]).toEqual(sorted([two.agents[0]!.id, two.visitors[0]!.id]));
		expect(conversations[4]).toEqual([two.visitors[0]!.conversationId]);
		expect([people[5], conversations[5]]).toEqual([people[2], conversations[2]]);
		// The rows carry what the snapshot needs.
		const agentRow = scopes[2]!.audience.find((row) => row.id === agent!.id);
		expect(agentRow).toMatchObject({ kind: 'agent', last_seen_at: null });

		// Read one by one, each viewer gets the same as in the batch.
		for (const [i, viewer] of viewers.entries()) {
			const alone = await reader.read(viewer);
			expect(sorted(alone.audience.map((row) => row.id))).toEqual(people[i]);
			expect(sorted(alone.conversationIds)).toEqual(conversations[i]);
		}
		expect(count.queries()).toBe(1 + viewers.length);
	});

	it('opens that come while the queries are in flight wait for one and go together', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 3 });
		const count = counting();
		const reader = new ScopeReader(t.services.db.withPlugin(count.plugin), { maxInFlight: 1 });
		const viewer = (i: number) => visitorViewer(ws, i);
		const first = reader.read(viewer(0));
		// The next turn: the first query is on its way, so these two wait for it.
		await nextTurn();
		expect(count.queries()).toBe(1);
		const later = [reader.read(viewer(1)), reader.read(viewer(2))];
		const scopes = await Promise.all([first, ...later]);
		expect(count.queries()).toBe(2);
		scopes.forEach((scope, i) =>
			expect(sorted(scope.audience.map((row) => row.id))).toEqual(
				sorted([ws.visitors[i]!.id, ws.agents[0]!.id])
			)
		);
	});

	it('opens of a burst, turns apart, share a query; one after a quiet spell goes at once', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 4 });
		const count = counting();
		const reader = new ScopeReader(t.services.db.withPlugin(count.plugin), { holdMs: 150 });
		const viewer = (i: number) => visitorViewer(ws, i);
		// Nothing came before: the first goes at the end of its turn.
		const first = reader.read(viewer(0));
		await nextTurn();
		expect(count.queries()).toBe(1);
		await first;
		// Its query has returned, but it went out less than the hold ago: these two, each in a
		// turn of its own as a burst's opens come, wait and share the next query.
		const second = reader.read(viewer(1));
		await nextTurn();
		const third = reader.read(viewer(2));
		await nextTurn();
		expect(count.queries()).toBe(1);
		const scopes = await Promise.all([second, third]);
		expect(count.queries()).toBe(2);
		scopes.forEach((scope, i) =>
			expect(sorted(scope.audience.map((row) => row.id))).toEqual(
				sorted([ws.visitors[i + 1]!.id, ws.agents[0]!.id])
			)
		);
		// A quiet spell longer than the hold: the next open is not held.
		await new Promise((resolve) => setTimeout(resolve, 200));
		const lone = reader.read(viewer(3));
		await nextTurn();
		expect(count.queries()).toBe(3);
		await lone;
	});

	it('a failed query fails every open it carried, and the next turn reads again', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const reader = new ScopeReader(t.services.db);
		const bad = reader.read({ kind: 'visitor', userId: 'not-a-uuid', workspaceId: ws.id });
		const good = reader.read({ kind: 'visitor', userId: ws.visitors[0]!.id, workspaceId: ws.id });
		await expect(bad).rejects.toThrow();
		await expect(good).rejects.toThrow();
		const again = await reader.read({
			kind: 'visitor',
			userId: ws.visitors[0]!.id,
			workspaceId: ws.id
		});
		expect(sorted(again.audience.map((row) => row.id))).toEqual(
			sorted([ws.visitors[0]!.id, ws.agents[0]!.id])
		);
	});

	it('a visitor is guessed to see the agents the previous visitor saw; a wrong guess costs a read, not a wrong snapshot', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const reader = new ScopeReader(t.services.db);
		const first = { kind: 'visitor' as const, userId: ws.visitors[0]!.id, workspaceId: ws.id };
		expect(reader.likelyAudience(first)).toEqual([first.userId]);
		await reader.read(first);
		expect(reader.likelyAudience(first)).toEqual([first.userId, ws.agents[0]!.id]);
		expect(reader.likelyAudience({ ...first, kind: 'agent' })).toBeUndefined();

		// A later agent, online, alone in a new visitor's conversation: not in the guess.
		const { db, presence } = t.services;
		const late = await db
			.insertInto('users')
			.values({
				workspace_id: ws.id,
				kind: 'agent',
				display_name: 'Late',
				email: `late@${ws.key}.test`,
				password_hash: 'not-used'
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		const visitor = await db
			.insertInto('users')
			.values({ workspace_id: ws.id, kind: 'visitor', display_name: 'New' })
			.returning('id')
			.executeTakeFirstOrThrow();
		const conversation = await db
			.insertInto('conversations')
			.values({ workspace_id: ws.id, visitor_id: visitor.id })
			.returning('id')
			.executeTakeFirstOrThrow();
		await db
			.insertInto('conversation_participants')
			.values([
				{ conversation_id: conversation.id, user_id: visitor.id },
				{ conversation_id: conversation.id, user_id: late.id }
			])
			.execute();
		const lateConnection = await presence.connect({ workspaceId: ws.id, userId: late.id });

		// The node's own reader (the one openConnection uses) learns from the first visitor too.
		const opened = [
			await openConnection(t.services, {
				kind: 'visitor',
				userId: first.userId,
				workspaceId: ws.id
			}),
			await openConnection(t.services, { kind: 'visitor', userId: visitor.id, workspaceId: ws.id })
		];
		const seen = opened[1]!.ready.snapshot.map((p) => [p.userId, p.isOnline]);
		expect(seen.sort()).toEqual(
			[
				[late.id, true],
				[visitor.id, true]
			].sort()
		);
		for (const o of opened) await presence.disconnect(o.connectionId);
		await presence.disconnect(lateConnection.connectionId);
	});
});

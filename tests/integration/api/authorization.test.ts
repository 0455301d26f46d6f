import { beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, rowCounts, type TestWorkspace } from '../../support/fixtures';
import { useTestServices, type AppCaller } from '../../support/services';

/**
 * Every procedure of the contract (docs/design.md §4 and §6), the same four ways: no identity,
 * the wrong kind of identity, someone outside (another workspace's agent, another visitor),
 * and bad input — each a clear 4xx that writes nothing.
 */

// One visitor connection serves the whole file and sends no heartbeats of its own: it must not
// expire while a loaded machine runs the file (seconds); expiry is the contract suite's subject.
const t = useTestServices({ PRESENCE_HEARTBEAT_TIMEOUT_MS: '60000' });
let a: TestWorkspace;
let b: TestWorkspace;
let connectionId: string;
const stream = new AbortController();

beforeAll(async () => {
	a = await createWorkspace(t.services, { agents: 1, visitors: 2 });
	b = await createWorkspace(t.services, { agents: 1, visitors: 1 });
	const iterable = (await t
		.caller({ visitorToken: a.visitors[0]!.visitorToken }, stream.signal)
		.presence.connect()) as AsyncGenerator<[string, { connectionId: string }]>;
	connectionId = (await iterable.next()).value![1].connectionId;
	return () => stream.abort();
});

type Who = 'agent' | 'visitor';
interface Case {
	path: string;
	/** Who may call it (the first is used for the refusals below). */
	who: Who[];
	input: () => unknown;
	/** Input its schema refuses (procedures without input have none). */
	bad?: unknown;
	/** What its first caller gets: their own resource, not just a call that did not fail. */
	answer: () => unknown;
	/** Someone of this kind, outside the resource, gets FORBIDDEN. */
	outsider?: 'agent of another workspace' | 'another visitor';
}

const v0 = () => a.visitors[0]!;
const NOBODY = '00000000-0000-4000-8000-000000000000';
const PNG =
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const cases: Case[] = [
	{
		path: 'auth.me',
		who: ['agent'],
		input: () => undefined,
		answer: () => ({ id: a.agents[0]!.id, workspaceId: a.id })
	},
	{
		path: 'visitors.byId',
		who: ['agent'],
		input: () => ({ visitorId: v0().id }),
		answer: () => ({ id: v0().id, isOnline: true }),
		bad: { visitorId: 'not-a-uuid' },
		outsider: 'agent of another workspace'
	},
	{
		path: 'visitors.online',
		who: ['agent'],
		input: () => undefined,
		bad: { limit: 0 },
		answer: () =>
			expect.arrayContaining([
				expect.objectContaining({ id: v0().id, conversationId: v0().conversationId })
			])
	},
	{
		path: 'visitors.startConversation',
		who: ['agent'],
		// The visitor already has one: answering it writes nothing, so the refusals can count rows.
		input: () => ({ visitorId: v0().id }),
		answer: () => ({ conversationId: v0().conversationId, created: false }),
		bad: { visitorId: 'not-a-uuid' },
		outsider: 'agent of another workspace'
	},
	{
		path: 'widget.startConversation',
		who: ['visitor'],
		input: () => undefined,
		answer: () => ({ conversationId: v0().conversationId })
	},
	{
		path: 'conversations.list',
		who: ['agent', 'visitor'],
		input: () => undefined,
		answer: () => expect.arrayContaining([expect.objectContaining({ id: v0().conversationId })])
	},
	{
		path: 'conversations.participants',
		who: ['visitor', 'agent'],
		input: () => ({ conversationId: v0().conversationId }),
		answer: () =>
			expect.arrayContaining([expect.objectContaining({ id: v0().id, kind: 'visitor' })]),
		bad: { conversationId: 42 },
		outsider: 'another visitor'
	},
	{
		path: 'messages.list',
		who: ['visitor', 'agent'],
		input: () => ({ conversationId: v0().conversationId }),
		answer: () => ({ messages: expect.any(Array), nextCursor: null }),
		bad: { conversationId: NOBODY, cursor: 'x'.repeat(500) },
		outsider: 'agent of another workspace'
	},
	{
		path: 'messages.send',
		who: ['visitor', 'agent'],
		input: () => ({ conversationId: v0().conversationId, body: 'hello' }),
		answer: () => ({
			message: { conversationId: v0().conversationId, senderId: v0().id, body: 'hello' }
		}),
		bad: { conversationId: NOBODY, body: '' },
		outsider: 'another visitor'
	},
	{
		path: 'messages.markRead',
		who: ['visitor', 'agent'],
		input: () => ({ conversationId: v0().conversationId }),
		answer: () => ({ at: expect.any(String) }),
		bad: {},
		outsider: 'agent of another workspace'
	},
	{
		path: 'presence.heartbeat',
		who: ['visitor', 'agent'],
		input: () => ({ connectionId }),
		answer: () => ({ ok: true }),
		bad: { connectionId: '' },
		outsider: 'another visitor'
	},
	{
		path: 'presence.focus',
		who: ['visitor', 'agent'],
		input: () => ({ connectionId, conversationId: v0().conversationId }),
		answer: () => ({ ok: true }),
		bad: { connectionId: 'conn', conversationId: 'nope' },
		outsider: 'another visitor'
	},
	{
		path: 'presence.page',
		who: ['visitor', 'agent'],
		input: () => ({ connectionId, url: 'https://shop.example/', title: 'Shop' }),
		answer: () => ({ ok: true }),
		bad: { connectionId: 'conn', url: 'javascript:alert(1)', title: 'x' },
		outsider: 'another visitor'
	},
	{
		path: 'presence.preview',
		who: ['visitor', 'agent'],
		input: () => ({ connectionId, image: PNG }),
		answer: () => ({ ok: true, stored: true }),
		bad: { connectionId: 'conn', image: 'x'.repeat(200_000) },
		outsider: 'another visitor'
	},
	{
		path: 'presence.previewImage',
		who: ['agent'],
		input: () => ({ userId: v0().id }),
		// The preview stored by the case above (cases run in order).
		answer: () => ({
			dataUrl: `data:image/png;base64,${PNG}`,
			page: { url: 'https://shop.example/' }
		}),
		bad: { userId: 7 },
		outsider: 'agent of another workspace'
	},
	{
		path: 'presence.status',
		who: ['agent', 'visitor'],
		input: () => ({ userIds: [v0().id] }),
		// With the focus and page reported by the cases above.
		answer: () => [
			expect.objectContaining({
				userId: v0().id,
				isOnline: true,
				focusConversationId: v0().conversationId,
				currentPage: { url: 'https://shop.example/', title: 'Shop' }
			})
		],
		bad: { userIds: [] },
		outsider: 'another visitor'
	}
];

function credentials(who: Who | 'agent of another workspace' | 'another visitor') {
	switch (who) {
		case 'agent':
			return { sessionToken: a.agents[0]!.sessionToken };
		case 'visitor':
			return { visitorToken: v0().visitorToken };
		case 'agent of another workspace':
			return { sessionToken: b.agents[0]!.sessionToken };
		case 'another visitor':
			return { visitorToken: a.visitors[1]!.visitorToken };
	}
}

function call(caller: AppCaller, path: string, input: unknown): Promise<unknown> {
	const [router, procedure] = path.split('.') as [string, string];
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	return (caller as any)[router][procedure](input);
}

describe.each(cases)('$path', (c) => {
	it('answers its caller', async () => {
		expect(await call(t.caller(credentials(c.who[0]!)), c.path, c.input())).toMatchObject(
			c.answer() as object
		);
	});

	it('is UNAUTHORIZED with no identity, or a credential of the wrong kind', async () => {
		await expect(call(t.caller(), c.path, c.input())).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		const wrongKind = (['agent', 'visitor'] as const).find((k) => !c.who.includes(k));
		if (wrongKind) {
			await expect(call(t.caller(credentials(wrongKind)), c.path, c.input())).rejects.toMatchObject(
				{
					code: 'UNAUTHORIZED'
				}
			);
		}
		const tampered = { sessionToken: a.agents[0]!.sessionToken.slice(0, -3) + 'abc' };
		await expect(call(t.caller(tampered), c.path, c.input())).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
	});

	// Only where there is an outsider to refuse (no test that cannot run).
	if (c.outsider)
		it(`is FORBIDDEN to ${c.outsider}`, async () => {
			const before = await rowCounts(t.services);
			await expect(
				call(t.caller(credentials(c.outsider!)), c.path, c.input())
			).rejects.toMatchObject({
				code: 'FORBIDDEN'
			});
			expect(await rowCounts(t.services)).toEqual(before);
		});

	if (c.bad !== undefined)
		it('is BAD_REQUEST for bad input and writes nothing', async () => {
			const before = await rowCounts(t.services);
			await expect(call(t.caller(credentials(c.who[0]!)), c.path, c.bad)).rejects.toMatchObject({
				code: 'BAD_REQUEST'
			});
			expect(await rowCounts(t.services)).toEqual(before);
		});
});

describe('presence.connect', () => {
	it('is UNAUTHORIZED with no identity or a tampered token', async () => {
		await expect(t.caller().presence.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(
			t.caller({ visitorToken: `${v0().visitorToken}x` }).presence.connect()
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
	});
});

import http from 'node:http';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import { SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../../src/lib/contract';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, rowCounts, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, TEST_REDIS_URL, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';
import { sleep, waitFor } from '../../support/clock';

/**
 * Issue 9, items 2-9, against two built app nodes sharing Redis and Postgres, over plain HTTP
 * as an attacker (or a careless client) would send it.
 */

let database: TestDatabase;
let prefix: string;
let nodeA: AppNode;
let nodeB: AppNode;
let db: ReturnType<typeof createKysely>;
let redis: Redis;
let ws: TestWorkspace;
let other: TestWorkspace;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	// Heartbeats at the production pace, so the per-person limit is one a test can reach (60/min).
	const env = testEnv(database, prefix, {
		PRESENCE_HEARTBEAT_INTERVAL_MS: '25000',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '60000'
	});
	[nodeA, nodeB] = await Promise.all([startAppNode(env), startAppNode(env)]);
	db = createKysely(database.url, 2);
	redis = new Redis(TEST_REDIS_URL);
	const config = loadConfig(env);
	ws = await createWorkspace({ db, config }, { agents: 2, visitors: 2 });
	other = await createWorkspace({ db, config }, { agents: 1, visitors: 1 });
});

afterAll(async () => {
	await Promise.all([nodeA?.stop(), nodeB?.stop()]);
	redis?.disconnect();
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

interface Reply {
	status: number;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	body: any;
	text: string;
}

/** One tRPC call as raw HTTP: POST with a JSON body (mutations, and queries by override). */
async function post(
	node: AppNode,
	path: string,
	input: unknown,
	headers: Record<string, string> = {}
): Promise<Reply> {
	const response = await fetch(`${node.trpcUrl}/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: input === undefined ? undefined : JSON.stringify(input)
	});
	const text = await response.text();
	return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

async function get(node: AppNode, path: string, input: unknown, headers: Record<string, string>) {
	const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
	const response = await fetch(`${node.trpcUrl}/${path}${query}`, { headers });
	const text = await response.text();
	return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

const agentCookie = (token: string) => ({ cookie: `${SESSION_COOKIE}=${token}` });
const visitorHeader = (token: string) => ({ [VISITOR_TOKEN_HEADER]: token });

async function redisKeys(): Promise<string[]> {
	const keys: string[] = [];
	let cursor = '0';
	do {
		const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		cursor = next;
		keys.push(...batch);
	} while (cursor !== '0');
	return keys.sort();
}

describe('bad bytes (item 2)', () => {
	it('a NUL byte or a lone surrogate is a 400 naming the field, with no Postgres text, and writes nothing', async () => {
		const visitor = ws.visitors[0]!;
		const before = await rowCounts({ db });
		const cases: [string, unknown, Record<string, string>, string][] = [
			[
				'messages.send',
				{ conversationId: visitor.conversationId, body: 'hi\u0000there' },
				visitorHeader(visitor.visitorToken),
				'body'
			],
			[
				'messages.send',
				{ conversationId: visitor.conversationId, body: 'broken \ud83d pair' },
				visitorHeader(visitor.visitorToken),
				'body'
			],
			['widget.session', { workspaceKey: 'demo\u0000' }, {}, 'workspaceKey'],
			['auth.login', { email: 'ada\u0000@demo.test', password: 'x' }, {}, 'email']
		];
		for (const [path, input, headers, field] of cases) {
			const reply = await post(nodeA, path, input, headers);
			expect(reply.status, `${path} ${reply.text}`).toBe(400);
			expect(reply.body.error.data.code).toBe('BAD_REQUEST');
			expect(reply.body.error.message).toMatch(new RegExp(`^${field}: `));
			expect(reply.text).not.toMatch(/invalid byte sequence|0x00|postgres|stack/i);
		}
		expect(await rowCounts({ db })).toEqual(before);
		// Emoji (a proper surrogate pair) and other Unicode still go through.
		const ok = await post(
			nodeA,
			'messages.send',
			{ conversationId: visitor.conversationId, body: 'Grüße 👋' },
			visitorHeader(visitor.visitorToken)
		);
		expect(ok.status).toBe(200);
		expect(ok.body.result.data.message.body).toBe('Grüße 👋');
	});

	it('an internal error reaches the client as "Internal server error" only; the detail stays in the log', async () => {
		onTestFailed(() => console.log('NODE OUTPUT', nodeA.output.join('')));
		const visitor = ws.visitors[0]!;
		await sql`alter table messages rename to messages_away`.execute(db);
		try {
			const reply = await get(
				nodeA,
				'messages.list',
				{ conversationId: visitor.conversationId },
				visitorHeader(visitor.visitorToken)
			);
			expect(reply.status).toBe(500);
			expect(reply.body.error.message).toBe('Internal server error');
			expect(reply.body.error.data).toEqual({
				code: 'INTERNAL_SERVER_ERROR',
				httpStatus: 500,
				path: 'messages.list'
			});
			expect(reply.text).not.toMatch(/relation|does not exist|42P01|stack|\.js/);
			// Logs are JSON lines: the quotes of the detail come escaped.
			await waitFor(() => /relation \\?"messages\\?" does not exist/.test(nodeA.output.join('')));
		} finally {
			await sql`alter table messages_away rename to messages`.execute(db);
		}
	});
});

describe('malformed cookies and tokens (item 3)', () => {
	it('are no session: 401 on every call, at most one log line, and a visitor token still works', async () => {
		const logged = nodeA.output.join('').split('\n').length;
		const garbage = [
			{ cookie: `${SESSION_COOKIE}=%E0%A4%A` },
			{ cookie: `${SESSION_COOKIE}=not.a.token` },
			{ cookie: `${SESSION_COOKIE}=${'A'.repeat(5000)}` },
			visitorHeader('%E0%A4%A')
		];
		for (const headers of garbage) {
			for (let i = 0; i < 5; i++) {
				const me = await get(nodeA, 'auth.me', undefined, headers);
				expect(me.status).toBe(401);
				expect(me.body.error.data.code).toBe('UNAUTHORIZED');
				expect((await get(nodeA, 'conversations.list', undefined, headers)).status).toBe(401);
			}
		}
		const visitor = ws.visitors[0]!;
		const mixed = await get(nodeA, 'conversations.list', undefined, {
			cookie: `${SESSION_COOKIE}=%E0%A4%A`,
			...visitorHeader(visitor.visitorToken)
		});
		expect(mixed.status).toBe(200);
		// Pages too: the login page renders, the inbox sends to the login page.
		const login = await fetch(`${nodeA.url}/login`, { headers: garbage[0] });
		expect(login.status).toBe(200);
		const inbox = await fetch(`${nodeA.url}/inbox`, { headers: garbage[0], redirect: 'manual' });
		expect(inbox.status).toBe(303);
		expect(inbox.headers.get('location')).toBe('/login');
		expect(nodeA.output.join('').split('\n').length - logged).toBeLessThanOrEqual(1);
	});
});

describe('presence.status at its documented maximum (item 4)', () => {
	it('takes 1,000 ids through createClient (a query, sent by POST)', async () => {
		const bulk = await sql<{ id: string }>`
			insert into users (workspace_id, kind, display_name, email, password_hash)
			select ${ws.id}::uuid, 'agent', 'Bulk ' || i, 'bulk' || i || '@' || ${ws.key} || '.test', 'x'
			from generate_series(1, 998) as i
			returning id
		`.execute(db);
		const ids = [ws.agents[0]!.id, ws.agents[1]!.id, ...bulk.rows.map((r) => r.id)];
		expect(ids).toHaveLength(1000);
		const cookie = await loginAgent(nodeA.trpcUrl, ws.agents[0]!.email, ws.agents[0]!.password);
		const client = createClient({ url: nodeA.trpcUrl, auth: { agentCookie: cookie } });
		const stream = openClientStream(client);
		await stream.ready;
		const people = await client.presence.status.query({ userIds: ids });
		expect(people).toHaveLength(1000);
		expect(people[0]).toMatchObject({ userId: ws.agents[0]!.id, isOnline: true });
		expect(people.slice(1).every((p) => !p.isOnline)).toBe(true);
		// Batched with small calls in the same tick, it still works (the large one travels alone).
		const [me, big, list] = await Promise.all([
			client.auth.me.query(),
			client.presence.status.query({ userIds: ids }),
			client.conversations.list.query()
		]);
		expect(me.id).toBe(ws.agents[0]!.id);
		expect(big).toHaveLength(1000);
		expect(list.length).toBeGreaterThan(0);
		stream.unsubscribe();
		await db.deleteFrom('users').where('email', 'like', `bulk%@${ws.key}.test`).execute();
	});
});

/** Raw HTTP/1.1 on one keep-alive socket, to see what happens to the connection. */
function rawPost(
	agent: http.Agent,
	node: AppNode,
	path: string,
	body: Buffer | null,
	options: { chunked?: boolean } = {}
): Promise<{ status: number; reused: boolean; text: string; closed: boolean }> {
	const url = new URL(`${node.trpcUrl}/${path}`);
	return new Promise((resolve, reject) => {
		const req = http.request(
			{
				agent,
				host: url.hostname,
				port: url.port,
				path: url.pathname,
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					...(body && !options.chunked ? { 'content-length': String(body.length) } : {})
				}
			},
			(res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk) => (text += chunk));
				res.on('end', () =>
					resolve({
						status: res.statusCode ?? 0,
						reused: req.reusedSocket,
						text,
						closed: res.headers.connection === 'close'
					})
				);
			}
		);
		// A server that refuses before the body was sent may close while we still write: that is
		// the clean close the 413 announced, not an error of the exchange.
		req.on('error', (error: NodeJS.ErrnoException) => {
			if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
		});
		if (body) req.write(body);
		req.end();
	});
}

describe('request bodies (item 5)', () => {
	it('a 2 MB body to a procedure without input is a 413 that closes the connection cleanly', async () => {
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		try {
			const big = await rawPost(agent, nodeA, 'auth.logout', Buffer.alloc(2 * 1024 * 1024, 'a'));
			expect(big.status).toBe(413);
			expect(big.closed).toBe(true);
			expect(JSON.parse(big.text).error.data.code).toBe('PAYLOAD_TOO_LARGE');
			const chunked = await rawPost(agent, nodeA, 'auth.logout', Buffer.alloc(700_000, 'a'), {
				chunked: true
			});
			expect(chunked.status).toBe(413);
			// The next request gets a fresh connection and works.
			const next = await rawPost(agent, nodeA, 'auth.logout', null);
			expect(next.status).toBe(200);
		} finally {
			agent.destroy();
		}
	});

	it('a 400 KB body is read to its end: the next request on the same keep-alive connection works', async () => {
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		try {
			const first = await rawPost(agent, nodeA, 'auth.logout', Buffer.alloc(400 * 1024, ' '));
			expect(first.status).toBe(200);
			const second = await rawPost(agent, nodeA, 'auth.logout', Buffer.from('{}'));
			expect(second.status).toBe(200);
			expect(second.reused).toBe(true);
			const third = await rawPost(
				agent,
				nodeA,
				'widget.session',
				Buffer.from(JSON.stringify({ workspaceKey: 'x'.repeat(400_000) }))
			);
			expect(third.status).toBe(400);
			expect(third.reused).toBe(true);
		} finally {
			agent.destroy();
		}
	});
});

describe('batches and mutation limits (item 6)', () => {
	it('an 800-call batch is refused whole (400) and writes nothing; markRead is rate-limited per person', async () => {
		const agent = ws.agents[1]!;
		const visitor = ws.visitors[1]!;
		const readAt = () =>
			db
				.selectFrom('conversation_participants')
				.select('last_read_at')
				.where('conversation_id', '=', visitor.conversationId)
				.where('user_id', '=', agent.id)
				.executeTakeFirstOrThrow();
		const before = await readAt();
		const paths = Array.from({ length: 800 }, () => 'messages.markRead').join(',');
		const inputs = Object.fromEntries(
			Array.from({ length: 800 }, (_, i) => [i, { conversationId: visitor.conversationId }])
		);
		const response = await fetch(`${nodeA.trpcUrl}/${paths}?batch=1`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...agentCookie(agent.sessionToken) },
			body: JSON.stringify(inputs)
		});
		expect(response.status).toBe(400);
		expect(await response.text()).toMatch(/Batch call exceeds maximum size/);
		expect(await readAt()).toEqual(before);

		// The limit counts in fixed one-minute windows: 130 calls that straddled a window's edge
		// would be allowed more than 120 times, so they start well inside one.
		const intoWindow = Date.now() % 60_000;
		if (intoWindow > 45_000) await sleep(60_000 - intoWindow + 100);
		const statuses: number[] = [];
		for (let i = 0; i < 130; i++) {
			// Alternating nodes: the limit is shared through Redis.
			const reply = await post(
				i % 2 ? nodeA : nodeB,
				'messages.markRead',
				{ conversationId: visitor.conversationId },
				agentCookie(agent.sessionToken)
			);
			statuses.push(reply.status);
		}
		expect(statuses.filter((s) => s === 200)).toHaveLength(120);
		expect(statuses.slice(120).every((s) => s === 429)).toBe(true);
	});
});

describe('heartbeats (item 7)', () => {
	it('random connection ids write no Redis key and hit the person’s limit; another workspace’s ids are refused before Redis', async () => {
		const visitor = ws.visitors[1]!;
		const headers = visitorHeader(visitor.visitorToken);
		const keysBefore = await redisKeys();
		const statuses: number[] = [];
		for (let i = 0; i < 70; i++) {
			const random = `${ws.id}~${Math.random().toString(36).slice(2).padEnd(20, 'x')}`;
			statuses.push(
				(await post(i % 2 ? nodeA : nodeB, 'presence.heartbeat', { connectionId: random }, headers))
					.status
			);
		}
		// 60 a minute per person (25 s interval, eight tabs at three times the rate).
		expect(statuses.slice(0, 60).every((s) => s === 404)).toBe(true);
		expect(statuses.slice(60).every((s) => s === 429)).toBe(true);
		const foreign = `${other.id}~${'y'.repeat(20)}`;
		const refused = await post(nodeA, 'presence.heartbeat', { connectionId: foreign }, headers);
		expect(refused.status).toBe(403);
		const added = (await redisKeys()).filter((k) => !keysBefore.includes(k));
		// Only the person's own rate counter (one fixed window; two if the minute turned).
		expect(added.length).toBeLessThanOrEqual(2);
		expect(added.every((k) => k.includes(`{${ws.id}}:rh:${visitor.id}:`))).toBe(true);
	});

	it('a real client’s heartbeats still work: another person is not limited by it', async () => {
		const visitor = ws.visitors[0]!;
		const client = createClient({
			url: nodeB.trpcUrl,
			auth: { visitorToken: visitor.visitorToken }
		});
		const stream = openClientStream(client);
		const ready = await stream.ready;
		expect(await client.presence.heartbeat.mutate({ connectionId: ready.connectionId })).toEqual({
			ok: true
		});
		stream.unsubscribe();
	});
});

describe('revocable sessions (item 8)', () => {
	it('after logout the old cookie is 401 on the next call, on this node and on the other', async () => {
		const agent = ws.agents[0]!;
		const cookie = await loginAgent(nodeA.trpcUrl, agent.email, agent.password);
		const onA = createClient({ url: nodeA.trpcUrl, auth: { agentCookie: cookie } });
		const onB = createClient({ url: nodeB.trpcUrl, auth: { agentCookie: cookie } });
		expect((await onA.auth.me.query()).id).toBe(agent.id);
		expect((await onB.auth.me.query()).id).toBe(agent.id);
		await onA.auth.logout.mutate();
		await expect(onA.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
		// Node B had it cached: the revocation reaches it over pub/sub (a few ms).
		const refusedAt = Date.now();
		await waitFor(
			() =>
				onB.auth.me.query().then(
					() => false,
					(error: { data?: { code?: string } }) => error.data?.code === 'UNAUTHORIZED'
				),
			'the revocation on node B',
			1000
		);
		expect(Date.now() - refusedAt).toBeLessThan(1000);
		await expect(onB.conversations.list.query()).rejects.toMatchObject({
			data: { code: 'UNAUTHORIZED' }
		});
	});

	it('logoutEverywhere ends every session of the agent', async () => {
		const agent = ws.agents[1]!;
		const laptop = await loginAgent(nodeA.trpcUrl, agent.email, agent.password);
		const phone = await loginAgent(nodeB.trpcUrl, agent.email, agent.password);
		const onLaptop = createClient({ url: nodeA.trpcUrl, auth: { agentCookie: laptop } });
		const onPhone = createClient({ url: nodeB.trpcUrl, auth: { agentCookie: phone } });
		expect((await onPhone.auth.me.query()).id).toBe(agent.id);
		expect((await onLaptop.auth.logoutEverywhere.mutate()).ok).toBe(true);
		await expect(onLaptop.auth.me.query()).rejects.toMatchObject({
			data: { code: 'UNAUTHORIZED' }
		});
		await waitFor(
			() =>
				onPhone.auth.me.query().then(
					() => false,
					() => true
				),
			'the revocation on the phone',
			1000
		);
	});
});

describe('security headers (item 9)', () => {
	it('the inbox and login refuse framing and carry a CSP with a script nonce; the demo shop may be framed', async () => {
		const agent = ws.agents[0]!;
		const cookie = await loginAgent(nodeA.trpcUrl, agent.email, agent.password);
		const inbox = await fetch(`${nodeA.url}/inbox`, { headers: { cookie } });
		expect(inbox.status).toBe(200);
		for (const response of [inbox, await fetch(`${nodeA.url}/login`)]) {
			const csp = response.headers.get('content-security-policy') ?? '';
			expect(csp).toContain("frame-ancestors 'none'");
			expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
			expect(csp).toContain("object-src 'none'");
			expect(response.headers.get('x-frame-options')).toBe('DENY');
			expect(response.headers.get('x-content-type-options')).toBe('nosniff');
			expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
		}
		const demo = await fetch(`${nodeA.url}/demo`);
		expect(demo.status).toBe(200);
		expect(demo.headers.get('content-security-policy')).toMatch(/script-src/);
		expect(demo.headers.get('content-security-policy')).not.toContain('frame-ancestors');
		expect(demo.headers.get('x-frame-options')).toBeNull();
		expect(demo.headers.get('x-content-type-options')).toBe('nosniff');
		const api = await fetch(`${nodeA.trpcUrl}/auth.me`);
		expect(api.headers.get('x-content-type-options')).toBe('nosniff');
	});
});

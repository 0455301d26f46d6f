import fc from 'fast-check';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../../src/lib/contract';
import { issueToken, SESSION_TTL_SECONDS } from '../../../src/server/auth/tokens';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { appRouter } from '../../../src/server/routers/_app';
import { startAppNode, type AppNode } from '../../support/app-process';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createSessionRow, createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, TEST_REDIS_URL, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';

/**
 * Issue 9: every query and mutation of the router, over HTTP against a built node, with random
 * and hostile inputs and credentials. Invariants: the answer is a 2xx or a 4xx, never a 5xx; and
 * a refused call writes nothing (row counts, the columns calls update, and Redis keys apart from
 * rate-limit counters, which count attempts by design).
 *
 * Fixed seed and bounded count: `FUZZ_SEED=<n>` replays a run (the seed is printed on failure),
 * `FUZZ_RUNS=<n>` changes its length.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_509);
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);

let database: TestDatabase;
let prefix: string;
let node: AppNode;
let db: ReturnType<typeof createKysely>;
let redis: Redis;
let ws: TestWorkspace;
let other: TestWorkspace;
let secret: string;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	const env = testEnv(database, prefix);
	node = await startAppNode(env);
	db = createKysely(database.url, 2);
	redis = new Redis(TEST_REDIS_URL);
	const config = loadConfig(env);
	secret = config.SESSION_SECRET;
	ws = await createWorkspace({ db, config }, { agents: 2, visitors: 2 });
	other = await createWorkspace({ db, config }, { agents: 1, visitors: 1 });
});

afterAll(async () => {
	await node?.stop();
	redis?.disconnect();
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

/** Every procedure of the router, so one added later is fuzzed too. */
function procedures(): { path: string; type: 'query' | 'mutation' | 'subscription' }[] {
	const record = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
	return Object.entries(record).map(([path, procedure]) => ({
		path,
		type: procedure._def.type as 'query' | 'mutation' | 'subscription'
	}));
}

/** What the database and Redis hold that a call could change. */
async function fingerprint() {
	const rows = await sql<{ state: string }>`
		select concat_ws('|',
			(select count(*) from workspaces), (select count(*) from users),
			(select count(*) from conversations), (select count(*) from messages),
			(select count(*) from conversation_participants), (select count(*) from sessions),
			(select md5(coalesce(string_agg(coalesce(last_read_at::text, '-'), ',' order by conversation_id, user_id), ''))
				from conversation_participants),
			(select md5(coalesce(string_agg(coalesce(revoked_at::text, '-'), ',' order by id), '')) from sessions)
		) as state
	`.execute(db);
	const keys: string[] = [];
	let cursor = '0';
	do {
		const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		cursor = next;
		keys.push(...batch.filter((k) => !k.includes('rate:') && !k.includes(':rh:')));
	} while (cursor !== '0');
	return { postgres: rows.rows[0]!.state, redis: keys.sort() };
}

const FIELDS = [
	'conversationId',
	'connectionId',
	'userIds',
	'userId',
	'visitorId',
	'body',
	'email',
	'password',
	'workspaceKey',
	'visitorToken',
	'url',
	'title',
	'image',
	'cursor',
	'lastEventId'
];

function hostileValues() {
	const ids = [
		ws.id,
		other.id,
		...ws.visitors.flatMap((v) => [v.id, v.conversationId]),
		...ws.agents.map((a) => a.id),
		...other.visitors.flatMap((v) => [v.id, v.conversationId])
	];
	const strings = fc.oneof(
		fc.string({ maxLength: 40 }),
		fc.string({ unit: 'binary', maxLength: 20 }),
		fc.uuid(),
		fc.constantFrom(...ids),
		fc.constantFrom(
			'\u0000',
			'a\u0000b',
			'\ud800',
			'x\udfff',
			"'; drop table users; --",
			'%E0%A4%A',
			'<script>alert(1)</script>',
			'https://shop.example/\u0000',
			'data:image/png;base64,iVBORw0KGgo=',
			ws.key,
			ws.agents[0]!.email,
			'test-password',
			`${ws.id}~${'a'.repeat(20)}`,
			`${other.id}~${'b'.repeat(20)}`,
			'{}~x',
			'x'.repeat(5000),
			ws.visitors[0]!.visitorToken
		)
	);
	// Plausible values (real ids, a real key and e-mail) reach past the input checks into the
	// authorization and the writes; the rest probe the parsers.
	const plausible = fc.oneof(
		fc.constantFrom(...ids),
		fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: 4 }),
		fc.constantFrom(ws.key, ws.agents[0]!.email, 'https://shop.example/p', 'Hello', null)
	);
	const { value } = fc.letrec((tie) => ({
		value: fc.oneof(
			{ depthSize: 'small' },
			strings,
			fc.integer(),
			fc.double(),
			fc.boolean(),
			fc.constant(null),
			fc.array(tie('value'), { maxLength: 4 }),
			fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 })
		)
	}));
	return { value, plausible };
}

const CREDENTIALS = [
	'none',
	'agent',
	'visitor',
	'other-visitor',
	'malformed-cookie',
	'garbage-token',
	'stateless-agent'
] as const;

async function headersFor(
	credential: (typeof CREDENTIALS)[number]
): Promise<Record<string, string>> {
	switch (credential) {
		case 'none':
			return {};
		case 'agent': {
			// A fresh session each time: a fuzzed logout must not make every later agent call a 401.
			const agent = ws.agents[0]!;
			const sid = await createSessionRow(db, agent.id);
			const token = issueToken(
				{ kind: 'agent', sub: agent.id, ws: ws.id, sid },
				secret,
				SESSION_TTL_SECONDS
			);
			return { cookie: `${SESSION_COOKIE}=${token}` };
		}
		case 'visitor':
			return { [VISITOR_TOKEN_HEADER]: ws.visitors[0]!.visitorToken };
		case 'other-visitor':
			return { [VISITOR_TOKEN_HEADER]: other.visitors[0]!.visitorToken };
		case 'malformed-cookie':
			return { cookie: `${SESSION_COOKIE}=%E0%A4%A` };
		case 'garbage-token':
			return { [VISITOR_TOKEN_HEADER]: 'eyJhbGciOi.garbage' };
		case 'stateless-agent':
			return {
				cookie: `${SESSION_COOKIE}=${issueToken({ kind: 'agent', sub: ws.agents[1]!.id, ws: ws.id }, secret, 60)}`
			};
	}
}

async function call(
	path: string,
	type: 'query' | 'mutation',
	input: unknown,
	headers: Record<string, string>,
	byPost: boolean
) {
	const encoded = input === undefined ? undefined : JSON.stringify(input);
	if (type === 'query' && !byPost) {
		const query = encoded === undefined ? '' : `?input=${encodeURIComponent(encoded)}`;
		return fetch(`${node.trpcUrl}/${path}${query}`, { headers });
	}
	return fetch(`${node.trpcUrl}/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: encoded
	});
}

describe('every procedure under random and hostile input (property-based)', () => {
	it(`answers 2xx or 4xx, never 5xx, and a refused call writes nothing (seed ${SEED}, ${RUNS} runs)`, async () => {
		onTestFailed(() => {
			console.log(`Replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
			console.log('NODE OUTPUT', node.output.slice(-50).join(''));
		});
		const all = procedures().filter((p) => p.type !== 'subscription');
		expect(all.length).toBeGreaterThanOrEqual(15);
		const { value, plausible } = hostileValues();
		const field = fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: value });
		const input = fc.oneof(
			fc.constant(undefined),
			{ weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), field, { maxKeys: 3 }) },
			value
		);
		const credential = fc.oneof(
			{ weight: 3, arbitrary: fc.constantFrom('agent' as const, 'visitor' as const) },
			{ weight: 2, arbitrary: fc.constantFrom(...CREDENTIALS) }
		);
		const statuses = new Map<number, number>();
		await fc.assert(
			fc.asyncProperty(
				fc.constantFrom(...all),
				input,
				credential,
				fc.boolean(),
				async (procedure, payload, credential, byPost) => {
					const headers = await headersFor(credential);
					const before = await fingerprint();
					const response = await call(
						procedure.path,
						procedure.type as 'query' | 'mutation',
						payload,
						headers,
						byPost
					);
					const text = await response.text();
					statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
					if (response.status >= 500 || response.status < 200) {
						throw new Error(
							`${procedure.path} (${credential}) answered ${response.status}: ${text}`
						);
					}
					if (response.status >= 400) {
						const after = await fingerprint();
						if (JSON.stringify(after) !== JSON.stringify(before)) {
							throw new Error(
								`${procedure.path} (${credential}) was refused (${response.status}) but wrote: ${JSON.stringify({ before, after })}`
							);
						}
					}
				}
			),
			{ seed: SEED, numRuns: RUNS, endOnFailure: true }
		);
		console.log(`[fuzz] seed ${SEED}: ${RUNS} calls, statuses ${JSON.stringify([...statuses])}`);
		// The run reached past the input checks, not only refusals.
		expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
	});

	it('the presence stream refuses hostile input and credentials with a 4xx, never a 5xx', async () => {
		const { value } = hostileValues();
		const outcomes = new Map<string, number>();
		await fc.assert(
			fc.asyncProperty(
				fc.oneof(fc.constant(undefined), value),
				fc.constantFrom(...CREDENTIALS),
				async (payload, credential) => {
					const headers = await headersFor(credential);
					const query =
						payload === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(payload))}`;
					const outcome = await firstStreamOutcome(
						`${node.trpcUrl}/presence.connect${query}`,
						headers
					);
					outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
					if (outcome.startsWith('5')) {
						throw new Error(`presence.connect (${credential}) answered ${outcome}`);
					}
				}
			),
			{ seed: SEED, numRuns: 60, endOnFailure: true }
		);
		console.log(`[fuzz] presence.connect outcomes ${JSON.stringify([...outcomes])}`);
		expect([...outcomes.keys()].some((o) => o.startsWith('4'))).toBe(true);
	});
});

/**
 * An SSE answer is a 200 whatever happens; a refusal is its first event, `serialized-error`,
 * carrying the HTTP status it stands for. Returns that status, `ready`, or the response's status.
 */
async function firstStreamOutcome(url: string, headers: Record<string, string>): Promise<string> {
	const controller = new AbortController();
	const timer = setTimeout(() => controller.abort(), 5000);
	try {
		const response = await fetch(url, { headers, signal: controller.signal });
		if (!response.headers.get('content-type')?.includes('text/event-stream')) {
			await response.text();
			return String(response.status);
		}
		const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
		let text = '';
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return 'ended';
			text += value;
			const error = /event: serialized-error\ndata: (.*)\n/.exec(text);
			if (error) return String(JSON.parse(error[1]!).data?.httpStatus ?? 'error');
			if (text.includes('"type":"ready"')) return 'ready';
		}
	} finally {
		clearTimeout(timer);
		controller.abort();
	}
}

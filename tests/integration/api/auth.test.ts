import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/lib/contract';
import { issueToken, SESSION_TTL_SECONDS } from '../../../src/server/auth/tokens';
import { createContextInner } from '../../../src/server/context';
import { appRouter } from '../../../src/server/routers/_app';
import { startServices } from '../../../src/server/services';
import { createCallerFactory } from '../../../src/server/trpc';
import { createWorkspace, rowCounts, type TestAgent } from '../../support/fixtures';
import { quietLogger, useTestServices } from '../../support/services';
import { waitFor } from '../../support/clock';

const t = useTestServices();

function cookieJar() {
	const set: string[] = [];
	return { set, setCookie: (c: string) => set.push(c) };
}

describe('auth', () => {
	it('login with the right password sets an HttpOnly, SameSite session cookie that auth.me accepts', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const agent = ws.agents[0]!;
		const jar = cookieJar();
		const profile = await t.caller({ setCookie: jar.setCookie }).auth.login({
			email: agent.email.toUpperCase(),
			password: agent.password
		});
		expect(profile).toMatchObject({ id: agent.id, workspaceId: ws.id, email: agent.email });
		expect(jar.set).toHaveLength(1);
		const cookie = jar.set[0]!;
		expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+`));
		expect(cookie).toContain('HttpOnly');
		expect(cookie).toContain('SameSite=Lax');
		const token = cookie.split(';')[0]!.split('=')[1]!;
		expect(await t.caller({ sessionToken: token }).auth.me()).toMatchObject({ id: agent.id });
	});

	it('login with a wrong password is UNAUTHORIZED and sets no cookie', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const jar = cookieJar();
		await expect(
			t
				.caller({ setCookie: jar.setCookie })
				.auth.login({ email: ws.agents[0]!.email, password: 'nope' })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(
			t
				.caller({ setCookie: jar.setCookie })
				.auth.login({ email: 'nobody@x.test', password: 'nope' })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		expect(jar.set).toEqual([]);
	});

	it('bad login input is BAD_REQUEST', async () => {
		await expect(t.caller().auth.login({ email: '', password: '' })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
	});

	it('auth.me without, with a tampered, or with a visitor credential is UNAUTHORIZED', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		await expect(t.caller().auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		const token = ws.agents[0]!.sessionToken;
		const tampered = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
		await expect(t.caller({ sessionToken: tampered }).auth.me()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		await expect(
			t.caller({ sessionToken: ws.visitors[0]!.visitorToken }).auth.me()
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
	});

	it('logout clears the cookie', async () => {
		const jar = cookieJar();
		await t.caller({ setCookie: jar.setCookie }).auth.logout();
		expect(jar.set[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
	});

	it('a refused login writes nothing', async () => {
		const before = await rowCounts(t.services);
		await t
			.caller()
			.auth.login({ email: 'x@y.test', password: 'z' })
			.catch(() => {});
		expect(await rowCounts(t.services)).toEqual(before);
	});
});

describe('revocable sessions', () => {
	async function login(email: string, password: string) {
		const jar = cookieJar();
		await t.caller({ setCookie: jar.setCookie }).auth.login({ email, password });
		return jar.set[0]!.split(';')[0]!.split('=')[1]!;
	}

	it('logout revokes the session: a copy of the cookie is UNAUTHORIZED on the next call, other sessions live on', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const agent = ws.agents[0]!;
		const laptop = await login(agent.email, agent.password);
		const phone = await login(agent.email, agent.password);
		expect((await t.caller({ sessionToken: laptop }).auth.me()).id).toBe(agent.id);

		const revoked: unknown[] = [];
		const stop = new AbortController();
		await t.services.events.listen(ws.id, (event) => revoked.push(event), stop.signal);
		await t.caller({ sessionToken: laptop }).auth.logout();
		await expect(t.caller({ sessionToken: laptop }).auth.me()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		await expect(t.caller({ sessionToken: laptop }).conversations.list()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		expect((await t.caller({ sessionToken: phone }).auth.me()).id).toBe(agent.id);
		// The streams of that session learn of it on the workspace's event channel.
		await waitFor(() => revoked.length > 0);
		expect(revoked).toContainEqual(
			expect.objectContaining({ type: 'session-revoked', recipients: [agent.id] })
		);
		stop.abort();
	});

	it('logoutEverywhere revokes every session of the agent and nobody else’s', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 0 });
		const [ada, grace] = ws.agents as [TestAgent, TestAgent];
		const one = await login(ada.email, ada.password);
		const two = await login(ada.email, ada.password);
		expect(await t.caller({ sessionToken: one }).auth.logoutEverywhere()).toMatchObject({
			ok: true,
			revoked: 3 // the two logins and the fixture's session
		});
		for (const token of [one, two, ada.sessionToken]) {
			await expect(t.caller({ sessionToken: token }).auth.me()).rejects.toMatchObject({
				code: 'UNAUTHORIZED'
			});
		}
		expect((await t.caller({ sessionToken: grace.sessionToken }).auth.me()).id).toBe(grace.id);
	});

	it('a genuine signed token without a server-side session (the old stateless kind) is UNAUTHORIZED', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const agent = ws.agents[0]!;
		const stateless = issueToken(
			{ kind: 'agent', sub: agent.id, ws: ws.id },
			t.config.SESSION_SECRET,
			SESSION_TTL_SECONDS
		);
		await expect(t.caller({ sessionToken: stateless }).auth.me()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		const unknownSession = issueToken(
			{ kind: 'agent', sub: agent.id, ws: ws.id, sid: randomUUID() },
			t.config.SESSION_SECRET,
			SESSION_TTL_SECONDS
		);
		await expect(t.caller({ sessionToken: unknownSession }).auth.me()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
	});

	it('a revocation on one node is refused by another node that had the session cached', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const agent = ws.agents[0]!;
		const other = await startServices(t.config, { logger: quietLogger });
		try {
			const callOther = (token: string) =>
				createCallerFactory(appRouter)(
					createContextInner({ services: other, sessionToken: token })
				);
			const token = await login(agent.email, agent.password);
			expect((await callOther(token).auth.me()).id).toBe(agent.id); // cached on the other node now
			await t.caller({ sessionToken: token }).auth.logout();
			// Within pub/sub latency, far below the 30 s the cache could otherwise trust it.
			await waitFor(
				async () =>
					callOther(token)
						.auth.me()
						.then(
							() => false,
							(error: { code?: string }) => error.code === 'UNAUTHORIZED'
						),
				'the revocation elsewhere',
				1000
			);
		} finally {
			await other.close();
		}
	});
});

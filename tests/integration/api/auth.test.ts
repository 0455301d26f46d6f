import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/lib/protocol';
import { createWorkspace, rowCounts } from '../../support/fixtures';
import { useTestServices } from '../../support/services';

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

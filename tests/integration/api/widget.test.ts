import { describe, expect, it } from 'vitest';
import { verifyToken } from '../../../src/server/auth/tokens';
import { createWorkspace, rowCounts } from '../../support/fixtures';
import { useTestServices } from '../../support/services';

const t = useTestServices();

describe('widget.session', () => {
	it('starts an anonymous visitor with no conversation: one begins when they write, joined by the agents', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 0 });
		const before = await rowCounts(t.services);
		const session = await t.caller().widget.session({ workspaceKey: ws.key });
		const claims = verifyToken(session.visitorToken, 'visitor', t.config.SESSION_SECRET);
		expect(claims).toMatchObject({ sub: session.visitorId, ws: ws.id });
		expect(session.conversationId).toBeNull();
		expect(await rowCounts(t.services)).toMatchObject({
			conversations: before.conversations,
			users: before.users + 1
		});

		const visitor = t.caller({ visitorToken: session.visitorToken });
		const { conversationId } = await visitor.widget.startConversation();
		// Idempotent: a second tab's first message lands in the same conversation.
		expect(await visitor.widget.startConversation()).toEqual({ conversationId });
		const participants = await visitor.conversations.participants({ conversationId });
		expect(participants.map((p) => p.id).sort()).toEqual(
			[session.visitorId, ...ws.agents.map((a) => a.id)].sort()
		);
		expect((await rowCounts(t.services)).conversations).toBe(before.conversations + 1);
	});

	it('resumes the same visitor with its token, and their conversation once they have one', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const first = await t.caller().widget.session({ workspaceKey: ws.key });
		const browsing = await t
			.caller()
			.widget.session({ workspaceKey: ws.key, visitorToken: first.visitorToken });
		expect(browsing).toMatchObject({ visitorId: first.visitorId, conversationId: null });
		const { conversationId } = await t
			.caller({ visitorToken: first.visitorToken })
			.widget.startConversation();
		const again = await t
			.caller()
			.widget.session({ workspaceKey: ws.key, visitorToken: first.visitorToken });
		expect(again).toMatchObject({ visitorId: first.visitorId, conversationId });
	});

	it('startConversation needs a visitor token and is rate-limited', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		await expect(t.caller().widget.startConversation()).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
		const session = await t.caller().widget.session({ workspaceKey: ws.key });
		const visitor = t.caller({ visitorToken: session.visitorToken });
		const rule = t.services.limits.startConversation;
		for (let i = 0; i < rule.limit; i++) await visitor.widget.startConversation();
		await expect(visitor.widget.startConversation()).rejects.toMatchObject({
			code: 'TOO_MANY_REQUESTS'
		});
	});

	it('refuses a tampered visitor token with UNAUTHORIZED and creates nobody', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const first = await t.caller().widget.session({ workspaceKey: ws.key });
		const [body, signature] = first.visitorToken.split('.');
		const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
		const forgedBody = Buffer.from(
			JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })
		).toString('base64url');
		const before = await rowCounts(t.services);
		await expect(
			t
				.caller()
				.widget.session({ workspaceKey: ws.key, visitorToken: `${forgedBody}.${signature}` })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		// The tampered token is no credential for anything else either.
		await expect(
			t.caller({ visitorToken: `${forgedBody}.${signature}` }).conversations.list()
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		expect(await rowCounts(t.services)).toEqual(before);
	});

	it('refuses a token of another workspace, an unknown workspace and bad input, writing nothing', async () => {
		const a = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const b = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const before = await rowCounts(t.services);
		await expect(
			t.caller().widget.session({ workspaceKey: b.key, visitorToken: a.visitors[0]!.visitorToken })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(
			t.caller().widget.session({ workspaceKey: 'no-such-workspace' })
		).rejects.toMatchObject({
			code: 'NOT_FOUND'
		});
		await expect(t.caller().widget.session({ workspaceKey: '' })).rejects.toMatchObject({
			code: 'BAD_REQUEST'
		});
		expect(await rowCounts(t.services)).toEqual(before);
	});
});

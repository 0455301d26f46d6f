import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../../src/lib/contract';
import { loadConfig } from '../../../src/server/config';
import { startServices } from '../../../src/server/services';
import { createContextInner } from '../../../src/server/context';
import { appRouter } from '../../../src/server/routers/_app';
import { createCallerFactory } from '../../../src/server/trpc';
import { createWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { quietLogger, testEnv, useTestServices } from '../../support/services';
import { sleep } from '../../support/clock';
import { StreamReader } from '../../support/stream-reader';

const t = useTestServices();

async function open(credentials: { sessionToken?: string; visitorToken?: string }) {
	const controller = new AbortController();
	const iterable = (await t
		.caller(credentials, controller.signal)
		.presence.connect()) as AsyncIterable<unknown>;
	const reader = new StreamReader(iterable);
	const ready = await reader.ready();
	return { reader, ready, close: () => controller.abort() };
}

async function storedAvailability(userId: string) {
	const row = await t.services.db
		.selectFrom('users')
		.select('availability')
		.where('id', '=', userId)
		.executeTakeFirstOrThrow();
	return row.availability;
}

type TeamEvent = Extract<StreamEvent, { type: 'team' }>;
const teamIs = (online: boolean) => (e: StreamEvent) => e.type === 'team' && e.online === online;

describe('presence.setAvailability', () => {
	it('reaches teammates live, reads the same everywhere, and survives a reconnect', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 1 });
		const [ada, grace] = ws.agents;
		const watcher = await open({ sessionToken: grace!.sessionToken });
		const first = await open({ sessionToken: ada!.sessionToken });
		// Never chosen: available.
		expect(first.ready.snapshot.find((p) => p.userId === ada!.id)?.availability).toBe('available');
		expect(first.ready.snapshot.find((p) => p.userId === ws.visitors[0]!.id)?.availability).toBe(
			null
		);

		const result = await t
			.caller({ sessionToken: ada!.sessionToken })
			.presence.setAvailability({ availability: 'busy' });
		expect(result).toEqual({ ok: true, availability: 'busy' });
		const live = await watcher.reader.presenceOf(ada!.id, (e) => e.availability === 'busy');
		expect(live.isOnline).toBe(true);
		expect(await storedAvailability(ada!.id)).toBe('busy');
		expect(await t.caller({ sessionToken: ada!.sessionToken }).auth.me()).toMatchObject({
			availability: 'busy'
		});

		const [status] = await t
			.caller({ sessionToken: grace!.sessionToken })
			.presence.status({ userIds: [ada!.id] });
		expect(status?.availability).toBe('busy');
		const participants = await t
			.caller({ visitorToken: ws.visitors[0]!.visitorToken })
			.conversations.participants({ conversationId: ws.visitors[0]!.conversationId });
		expect(participants.find((p) => p.id === ada!.id)?.availability).toBe('busy');
		expect(participants.find((p) => p.id === ws.visitors[0]!.id)?.availability).toBe(null);

		// A reload: the new stream's snapshot and the teammate's later changes still say busy.
		first.close();
		await first.reader.done;
		const again = await open({ sessionToken: ada!.sessionToken });
		expect(again.ready.snapshot.find((p) => p.userId === ada!.id)?.availability).toBe('busy');
		await t
			.caller({ sessionToken: ada!.sessionToken })
			.presence.focus({ connectionId: again.ready.connectionId, conversationId: null });
		const later = await open({ sessionToken: grace!.sessionToken });
		expect(later.ready.snapshot.find((p) => p.userId === ada!.id)?.availability).toBe('busy');
		for (const event of watcher.reader.presenceEventsOf(ada!.id).slice(-1)) {
			expect(event.availability).toBe('busy');
		}
		again.close();
		later.close();
		watcher.close();
	});

	it('survives a restart with Redis empty: read from Postgres', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 0 });
		const [ada, grace] = ws.agents;
		await t
			.caller({ sessionToken: ada!.sessionToken })
			.presence.setAvailability({ availability: 'away' });
		// A second node with a key prefix of its own: a restarted app whose Redis lost everything.
		const prefix = testKeyPrefix();
		const services = await startServices(loadConfig(testEnv(t.database, prefix)), {
			logger: quietLogger
		});
		try {
			const caller = createCallerFactory(appRouter)(
				createContextInner({ services, sessionToken: grace!.sessionToken })
			);
			const [status] = await caller.presence.status({ userIds: [ada!.id] });
			expect(status).toMatchObject({ isOnline: false, availability: 'away' });
		} finally {
			await services.close();
			await dropKeyPrefix(prefix);
		}
	});

	it('is refused to visitors, and bad input writes nothing', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 1 });
		const [ada] = ws.agents;
		const visitor = ws.visitors[0]!;
		await expect(
			t
				.caller({ visitorToken: visitor.visitorToken })
				.presence.setAvailability({ availability: 'away' })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		expect(await storedAvailability(visitor.id)).toBe(null);
		for (const bad of [{ availability: 'asleep' }, { availability: null }, {}, 'away']) {
			await expect(
				t
					.caller({ sessionToken: ada!.sessionToken })
					// eslint-disable-next-line @typescript-eslint/no-explicit-any
					.presence.setAvailability(bad as any)
			).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		}
		expect(await storedAvailability(ada!.id)).toBe(null);
		await expect(
			t.caller({}).presence.setAvailability({ availability: 'away' })
		).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
	});

	it('is rate-limited per agent', async () => {
		const ws = await createWorkspace(t.services, { agents: 1, visitors: 0 });
		const caller = t.caller({ sessionToken: ws.agents[0]!.sessionToken });
		const { limit } = t.services.limits.availability;
		for (let i = 0; i < limit; i++) {
			await caller.presence.setAvailability({ availability: i % 2 ? 'busy' : 'available' });
		}
		await expect(caller.presence.setAvailability({ availability: 'away' })).rejects.toMatchObject({
			code: 'TOO_MANY_REQUESTS'
		});
		expect(await storedAvailability(ws.agents[0]!.id)).not.toBe('away');
	});
});

describe('the team status for visitors', () => {
	it('is online while one agent is online and available, live, naming nobody', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 1 });
		const [ada, grace] = ws.agents;
		const visitor = await open({ visitorToken: ws.visitors[0]!.visitorToken });
		expect(visitor.ready.teamOnline).toBe(false);

		const a = await open({ sessionToken: ada!.sessionToken });
		await visitor.reader.next(teamIs(true));
		const g = await open({ sessionToken: grace!.sessionToken });
		await t
			.caller({ sessionToken: grace!.sessionToken })
			.presence.setAvailability({ availability: 'away' });
		// Ada is still there: nothing flips.
		await t
			.caller({ sessionToken: ada!.sessionToken })
			.presence.setAvailability({ availability: 'busy' });
		await visitor.reader.next(teamIs(false));
		await t
			.caller({ sessionToken: grace!.sessionToken })
			.presence.setAvailability({ availability: 'available' });
		await visitor.reader.next(teamIs(true));
		g.close();
		await visitor.reader.next(teamIs(false));

		// A visitor arriving now starts from the current status.
		const late = await open({ visitorToken: ws.visitors[0]!.visitorToken });
		expect(late.ready.teamOnline).toBe(false);

		const teamEvents = visitor.reader.events.filter((e): e is TeamEvent => e.type === 'team');
		expect(teamEvents.map((e) => e.online)).toEqual([true, false, true, false]);
		for (const e of teamEvents) expect(Object.keys(e).sort()).toEqual(['online', 'type']);

		// Agents never get it.
		await sleep(200);
		expect(a.reader.events.some((e) => e.type === 'team')).toBe(false);
		a.close();
		late.close();
		visitor.close();
	});
});

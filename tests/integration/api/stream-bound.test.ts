import { describe, expect, it } from 'vitest';
import { createWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';
import { eventually, StreamReader } from '../../support/stream-reader';

const t = useTestServices({ STREAM_QUEUE_LIMIT: '20' });

describe('a stream that is never read', () => {
	it('is closed once past its bound, its backlog released, other streams unaffected', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 30 });
		const opened = t.services.metrics.streamsOpen;

		// The slow agent reads `ready`, then never reads again.
		const slowController = new AbortController();
		const slow = (await t
			.caller({ sessionToken: ws.agents[0]!.sessionToken }, slowController.signal)
			.presence.connect()) as AsyncGenerator<unknown>;
		await slow.next();

		const healthyController = new AbortController();
		const healthy = new StreamReader(
			(await t
				.caller({ sessionToken: ws.agents[1]!.sessionToken }, healthyController.signal)
				.presence.connect()) as AsyncIterable<unknown>
		);
		await healthy.ready();
		expect(t.services.metrics.streamsOpen).toBe(opened + 2);

		// 30 visitors come online: 30+ presence events, past the slow stream's bound of 20.
		const visitors = await Promise.all(
			ws.visitors.map(async (v) => {
				const controller = new AbortController();
				const reader = new StreamReader(
					(await t
						.caller({ visitorToken: v.visitorToken }, controller.signal)
						.presence.connect()) as AsyncIterable<unknown>
				);
				await reader.ready();
				return controller;
			})
		);
		for (const v of ws.visitors) await healthy.presenceOf(v.id, (e) => e.isOnline);
		expect(t.services.metrics.streamsOverflowed).toBe(1);

		// The slow client reads again: its stream is over (the client would reconnect and resync).
		const rest: unknown[] = [];
		for await (const value of { [Symbol.asyncIterator]: () => slow }) rest.push(value);
		expect(rest).toEqual([]);
		await eventually(() => t.services.metrics.streamsOpen === opened + 1 + visitors.length);

		for (const controller of visitors) controller.abort();
		healthyController.abort();
		slowController.abort();
		await eventually(() => t.services.metrics.streamsOpen === opened);
	});
});

import { describe, expect, it } from 'vitest';
import { createWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';
import { waitFor } from '../../support/clock';
import { StreamReader } from '../../support/stream-reader';

const t = useTestServices({ STREAM_QUEUE_LIMIT: '20' });

async function openStream(credentials: { sessionToken?: string; visitorToken?: string }) {
	const controller = new AbortController();
	const stream = (await t
		.caller(credentials, controller.signal)
		.presence.connect()) as AsyncGenerator<unknown>;
	return { stream, controller };
}

describe('a stream that is never read', () => {
	it('is closed once past its bound, its backlog released, other streams unaffected', async () => {
		const ws = await createWorkspace(t.services, { agents: 2, visitors: 30 });
		const opened = t.services.metrics.streamsOpen;

		// The slow agent reads `ready`, then never reads again.
		const slow = await openStream({ sessionToken: ws.agents[0]!.sessionToken });
		await slow.stream.next();

		const healthy = await openStream({ sessionToken: ws.agents[1]!.sessionToken });
		const healthyReader = new StreamReader(healthy.stream);
		await healthyReader.ready();
		expect(t.services.metrics.streamsOpen).toBe(opened + 2);

		// 30 visitors come online one after another: 30 presence events for the agents, past the
		// slow stream's bound of 20, while the healthy stream keeps up with each.
		const visitors: AbortController[] = [];
		for (const v of ws.visitors) {
			const visitor = await openStream({ visitorToken: v.visitorToken });
			await new StreamReader(visitor.stream).ready();
			await healthyReader.presenceOf(v.id, (e) => e.isOnline);
			visitors.push(visitor.controller);
		}
		expect(t.services.metrics.streamsOverflowed).toBe(1);

		// When the slow client reads again, its stream is over (a real client reconnects and resyncs).
		const rest: unknown[] = [];
		for await (const value of { [Symbol.asyncIterator]: () => slow.stream }) rest.push(value);
		expect(rest).toEqual([]);
		expect(t.services.metrics.streamsOpen).toBe(opened + 1 + visitors.length);

		for (const controller of visitors) controller.abort();
		healthy.controller.abort();
		slow.controller.abort();
		await waitFor(() => t.services.metrics.streamsOpen === opened);
	});
});

import { createServer, type Server } from 'node:http';
import { createTRPCClient, httpSubscriptionLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../../src/lib/client';
import {
	connectedFrame,
	dataFrameText,
	PING_FRAME,
	RETURN_FRAME,
	SSE_HEADERS
} from '../../../src/server/streams/sse';

/**
 * The hub's frames (src/server/streams/sse.ts) read by the stock `httpSubscriptionLink`, served
 * by a bare node:http server so each protocol step can be timed: pings keep the link's
 * inactivity timer quiet, and `return` completes the subscription.
 */

const servers: Server[] = [];
afterEach(async () => {
	await Promise.all(
		servers.splice(0).map((s) => {
			s.closeAllConnections();
			return new Promise((r) => s.close(r));
		})
	);
});

async function serve(onStream: (write: (bytes: string | Buffer) => void, end: () => void) => void) {
	let opens = 0;
	const server = createServer((_req, res) => {
		opens++;
		res.writeHead(200, SSE_HEADERS);
		onStream(
			(bytes) => res.write(bytes),
			() => res.end()
		);
	});
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	const client = createTRPCClient<AppRouter>({
		links: [httpSubscriptionLink({ url: `http://127.0.0.1:${port}`, EventSource })]
	});
	return { client, opens: () => opens };
}

// Ten pings to each inactivity window: a loaded machine may hold a timer for a few hundred ms.
const INACTIVITY_MS = 1000;

describe("the hub's frames with the stock link", () => {
	it('pings keep the inactivity timer quiet; without them the link reconnects', async () => {
		const pinged = await serve((write) => {
			write(connectedFrame({ reconnectAfterInactivityMs: INACTIVITY_MS }));
			write(dataFrameText('h-0', '{"type":"hello"}'));
			const timer = setInterval(() => write(PING_FRAME), 100);
			setTimeout(() => clearInterval(timer), 4000);
		});
		const quiet = await serve((write) => {
			write(connectedFrame({ reconnectAfterInactivityMs: INACTIVITY_MS }));
			write(dataFrameText('q-0', '{"type":"hello"}'));
		});
		const subs = [pinged, quiet].map(({ client }) =>
			client.presence.connect.subscribe(undefined, { onData: () => {} })
		);
		await new Promise((r) => setTimeout(r, 2.5 * INACTIVITY_MS));
		expect(pinged.opens()).toBe(1);
		expect(quiet.opens()).toBeGreaterThan(1);
		for (const sub of subs) sub.unsubscribe();
	});

	it('`return` completes the subscription (no reconnect); ending the body alone does not', async () => {
		const returning = await serve((write, end) => {
			write(connectedFrame({}));
			write(dataFrameText('r-0', '{"type":"last"}'));
			write(RETURN_FRAME);
			end();
		});
		const data: unknown[] = [];
		const completed = await new Promise<boolean>((resolve) => {
			returning.client.presence.connect.subscribe(undefined, {
				onData: (value) => data.push(value),
				onComplete: () => resolve(true),
				onError: () => resolve(false)
			});
		});
		expect(completed).toBe(true);
		expect(data).toEqual([{ id: 'r-0', data: { type: 'last' } }]);
		expect(returning.opens()).toBe(1);

		const ending = await serve((write, end) => {
			write(connectedFrame({}));
			write('retry: 50\n\n');
			write(dataFrameText('e-0', '{"type":"again"}'));
			end();
		});
		let done = false;
		const sub = ending.client.presence.connect.subscribe(undefined, {
			onData: () => {},
			onComplete: () => (done = true)
		});
		await new Promise((r) => setTimeout(r, 600));
		expect(done).toBe(false);
		expect(ending.opens()).toBeGreaterThan(1);
		sub.unsubscribe();
	});
});

import { TRPCError, tracked } from '@trpc/server';
import {
	getErrorShape,
	sseHeaders,
	sseStreamProducer
} from '@trpc/server/unstable-core-do-not-import';
import { describe, expect, it } from 'vitest';
import { appRouter } from '../routers/_app';
import { Frame } from './fanout-writer';
import {
	connectedFrame,
	dataFrameText,
	errorFrame,
	PING_FRAME,
	RETURN_FRAME,
	SSE_HEADERS
} from './sse';

/**
 * The golden test: for the same events, the hub's bytes equal what tRPC's own producer writes
 * (up to chunking). A tRPC upgrade that changes its SSE protocol fails here first.
 */

const CLIENT = { reconnectAfterInactivityMs: 25_000 };

async function produce(
	data: AsyncIterable<unknown>,
	options: { ping?: number; formatError?: (opts: { error: unknown }) => unknown } = {}
): Promise<string> {
	const stream = sseStreamProducer({
		data,
		client: CLIENT,
		ping: options.ping ? { enabled: true, intervalMs: options.ping } : undefined,
		formatError: options.formatError
	});
	const chunks: Uint8Array[] = [];
	for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
	return Buffer.concat(chunks).toString();
}

const events = [
	{
		id: 'abc-0',
		value: { type: 'ready', connectionId: 'ws~1', snapshot: [], heartbeatIntervalMs: 25_000 }
	},
	{
		id: 'abc-7',
		value: { type: 'message', conversationId: 'c', message: { body: 'héllo\n"quoted"' } }
	},
	{ id: 'abc-9', value: { type: 'presence', userId: 'u', isOnline: false, version: 3 } }
];

describe("the hub's SSE bytes", () => {
	it('connected, tracked values and return are byte for byte what tRPC writes', async () => {
		const trpc = await produce(
			(async function* () {
				for (const e of events) yield tracked(e.id, e.value);
			})()
		);
		const hub =
			connectedFrame(CLIENT).toString() +
			events.map((e) => dataFrameText(e.id, JSON.stringify(e.value))).join('') +
			RETURN_FRAME.toString();
		expect(hub).toBe(trpc);
	});

	it('a ping is the event tRPC sends while a stream is quiet', async () => {
		const trpc = await produce(
			(async function* () {
				await new Promise((resolve) => setTimeout(resolve, 120));
				yield tracked('abc-1', { type: 'late' });
			})(),
			{ ping: 30 }
		);
		const hub = connectedFrame(CLIENT).toString() + PING_FRAME.toString();
		expect(trpc.startsWith(hub)).toBe(true);
		expect(trpc).toContain(PING_FRAME.toString() + dataFrameText('abc-1', '{"type":"late"}'));
	});

	it("an error is a serialized-error carrying the router's error shape", async () => {
		const config = appRouter._def._config;
		const shapeOf = (error: unknown) =>
			getErrorShape({
				config,
				error: error as TRPCError,
				type: 'subscription',
				path: 'presence.connect',
				input: undefined,
				ctx: undefined
			});
		const refusal = new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'slow down' });
		const trpc = await produce(
			(async function* () {
				yield* [];
				throw refusal;
			})(),
			{ formatError: ({ error }) => shapeOf(error) }
		);
		expect(connectedFrame(CLIENT).toString() + errorFrame(shapeOf(refusal)).toString()).toBe(trpc);
	});

	it('sends the headers tRPC sends', () => {
		expect(SSE_HEADERS).toEqual(sseHeaders);
	});

	it('frames carry HTTP chunk framing around the same bytes', () => {
		const frame = new Frame(dataFrameText('x-1', '{"a":"ü"}'));
		const raw = frame.raw.toString();
		expect(raw).toBe(dataFrameText('x-1', '{"a":"ü"}'));
		expect(frame.chunked.toString()).toBe(`${frame.raw.length.toString(16)}\r\n${raw}\r\n`);
	});
});

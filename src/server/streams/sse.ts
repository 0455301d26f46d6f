/**
 * tRPC v11's SSE wire format, written by hand so one encoded frame can go to many sockets.
 * The bytes match `sseStreamProducer` of @trpc/server exactly (a golden test compares them),
 * so the stock `httpSubscriptionLink` reads the hub as it reads tRPC:
 * - `connected` first, carrying the client options (`reconnectAfterInactivityMs`);
 * - a value as a plain `data:` line with its tracked id in `id:`;
 * - `event: ping` with an empty data line (an event, so the client's inactivity timer sees it);
 * - `event: serialized-error` with the router's error shape, then the end;
 * - `event: return` only when the client must stop; ending the body without it makes the
 *   client's EventSource come back with `Last-Event-ID`.
 * tRPC writes one blank line more than SSE needs after each event; kept, so the bytes stay equal.
 */

/** Response headers of an SSE response, as tRPC sends them (`sseHeaders`). */
export const SSE_HEADERS = {
	'Content-Type': 'text/event-stream',
	'Cache-Control': 'no-cache, no-transform',
	'X-Accel-Buffering': 'no',
	Connection: 'keep-alive'
} as const;

const END = '\n\n';

export function connectedFrame(client: { reconnectAfterInactivityMs?: number }): Buffer {
	return Buffer.from(`event: connected\ndata: ${JSON.stringify(client)}\n${END}`);
}

/** A tracked value: `json` is `JSON.stringify(value)`; `id` has no `\0`, `\n` or `\r`. */
export function dataFrameText(id: string, json: string): string {
	return `data: ${json}\nid: ${id}\n${END}`;
}

export function dataFrame(id: string, json: string): Buffer {
	return Buffer.from(dataFrameText(id, json));
}

export function errorFrame(shape: unknown): Buffer {
	return Buffer.from(`event: serialized-error\ndata: ${JSON.stringify(shape)}\n${END}`);
}

/**
 * How soon the client's EventSource comes back after the body ends. Not part of tRPC's
 * vocabulary (it never sends one, and its clients then wait EventSource's default 3 s, as long as
 * the default grace): the hub sends it only when it ends a stream the client must reopen.
 */
export function retryFrame(ms: number): Buffer {
	return Buffer.from(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
}

export const PING_FRAME = Buffer.from(`event: ping\ndata: \n${END}`);
export const RETURN_FRAME = Buffer.from(`event: return\ndata: \n${END}`);

/** The resume id a reconnecting client sent: the header EventSource sets, else tRPC's query names. */
export function lastEventIdOf(
	headers: Record<string, string | string[] | undefined>,
	searchParams: URLSearchParams
): string | null {
	const header = headers['last-event-id'];
	const value =
		(Array.isArray(header) ? header[0] : header) ??
		searchParams.get('lastEventId') ??
		searchParams.get('Last-Event-Id');
	return value || null;
}

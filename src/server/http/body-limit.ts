import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';

/**
 * Request bodies of the API are bounded before tRPC sees them, for every procedure: tRPC reads a
 * body only when the procedure has an input, so a large body to `auth.logout` used to be accepted
 * and left unread on the socket, and the next request on that keep-alive connection was reset.
 * Here every body is read to its end (the connection stays usable) or refused with a 413 that
 * closes the connection (`Connection: close`), because the rest of an oversized body is never read.
 *
 * The largest documented input (a 100 KB preview, base64) is about 140 KB; the typed client sends
 * inputs above 16 KB alone and batches of at most MAX_BATCH_SIZE calls, so 512 KB (adapter-node's
 * own BODY_SIZE_LIMIT default) leaves room for every legitimate request.
 */
export const MAX_BODY_BYTES = 512 * 1024;

/** The most calls one httpBatch request may carry (`maxBatchSize`; the client's `maxItems`). */
export const MAX_BATCH_SIZE = 20;

export function payloadTooLarge(limit: number): Response {
	return new Response(
		JSON.stringify({
			error: {
				message: `Request body too large: at most ${limit} bytes`,
				code: TRPC_ERROR_CODES_BY_KEY.PAYLOAD_TOO_LARGE,
				data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 }
			}
		}),
		{ status: 413, headers: { 'content-type': 'application/json', connection: 'close' } }
	);
}

/**
 * The request with its body read into memory, or a 413 response. A declared length over the
 * limit is refused without reading; an undeclared (chunked) body is read up to the limit.
 */
export async function bufferBoundedBody(
	request: Request,
	limit = MAX_BODY_BYTES
): Promise<Request | Response> {
	if (!request.body) return request;
	const declared = Number(request.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > limit) return payloadTooLarge(limit);
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		let chunk: ReadableStreamReadResult<Uint8Array>;
		try {
			chunk = await reader.read();
		} catch {
			// The adapter's own limit (BODY_SIZE_LIMIT) or a client that went away mid-body.
			return payloadTooLarge(limit);
		}
		if (chunk.done) break;
		size += chunk.value.byteLength;
		// Not cancelled: cancelling destroys the socket before the 413 could be sent.
		if (size > limit) return payloadTooLarge(limit);
		chunks.push(chunk.value);
	}
	return new Request(request.url, {
		method: request.method,
		headers: request.headers,
		body: Buffer.concat(chunks),
		signal: request.signal
	});
}

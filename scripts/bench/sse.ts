import http from 'node:http';

/**
 * The bench's own SSE reading, small on purpose: thousands of streams per client process must
 * cost the client far less than they cost the server under test, so no EventSource, no tRPC
 * client, no JSON parsing unless the caller asks for it.
 */

/**
 * Milliseconds on CLOCK_MONOTONIC, which every process on the machine shares: arrivals taken in
 * the client processes and the moment the bench saw a Redis message compare directly.
 */
export function clockMs(): number {
	return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** One SSE event: `event` is '' for an unnamed (data) event, as tRPC sends its values. */
export type SseHandler = (event: string, data: string, at: number) => void;

/**
 * Splits a body into events. Only `event:` and `data:` matter here (ids, `retry:` and comments
 * are skipped); tRPC's extra blank lines make empty blocks, which are dropped.
 */
export class SseParser {
	#buffer = '';
	#onEvent: SseHandler;

	constructor(onEvent: SseHandler) {
		this.#onEvent = onEvent;
	}

	push(chunk: string, at: number): void {
		this.#buffer += chunk;
		let end = this.#buffer.indexOf('\n\n');
		if (end < 0) return;
		let start = 0;
		while (end >= 0) {
			const block = this.#buffer.slice(start, end);
			start = end + 2;
			end = this.#buffer.indexOf('\n\n', start);
			if (block.length === 0) continue;
			let event = '';
			let data = '';
			let hasData = false;
			for (const line of block.split('\n')) {
				if (line.startsWith('data:')) {
					const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
					data = hasData ? `${data}\n${value}` : value;
					hasData = true;
				} else if (line.startsWith('event:')) {
					event = line.charCodeAt(6) === 32 ? line.slice(7) : line.slice(6);
				}
			}
			// Like EventSource: an event without a data line is not dispatched.
			if (hasData) this.#onEvent(event, data, at);
		}
		this.#buffer = this.#buffer.slice(start);
	}
}

export interface SseTarget {
	host: string;
	port: number;
	path: string;
	headers?: Record<string, string>;
	/** Source address (any 127.x.y.z works on loopback), so a per-address cap is not what we hit. */
	localAddress?: string;
}

/**
 * Opens one SSE GET. `onEvent` sees every event; `onEnd` runs once, with why the stream ended
 * (`null` when we closed it ourselves).
 */
export function openSse(
	target: SseTarget,
	agent: http.Agent,
	onEvent: SseHandler,
	onEnd: (reason: string | null) => void
): { close(): void } {
	let closedByUs = false;
	let ended = false;
	const end = (reason: string) => {
		if (ended) return;
		ended = true;
		onEnd(closedByUs ? null : reason);
	};
	const req = http.request({
		host: target.host,
		port: target.port,
		path: target.path,
		method: 'GET',
		agent,
		localAddress: target.localAddress,
		headers: { accept: 'text/event-stream', ...target.headers }
	});
	req.on('error', (error) => end(`error: ${error.message}`));
	req.on('response', (res) => {
		if (res.statusCode !== 200) {
			res.resume();
			end(`HTTP ${res.statusCode}`);
			return;
		}
		const parser = new SseParser(onEvent);
		res.setEncoding('utf8');
		res.on('data', (chunk: string) => parser.push(chunk, clockMs()));
		res.on('end', () => end('ended by the server'));
		res.on('close', () => end('closed by the server'));
		res.on('error', (error) => end(`error: ${error.message}`));
	});
	req.end();
	return {
		close() {
			closedByUs = true;
			req.destroy();
		}
	};
}

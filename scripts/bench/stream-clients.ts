import http from 'node:http';
import { clockMs, openSse } from './sse';

/**
 * A client process of the streams bench (forked by streams.ts): it holds thousands of SSE
 * streams, because one process may hold only about 20,000 open files here. The same processes
 * open streams to the floor and to the app, so both are read by the same clients.
 *
 * A stream is "ready" at its first unnamed data event (the app's `ready`, the floor's hello).
 * After `arm`, every ready stream counts the data events that contain the marker and keeps the
 * arrival time of the first one.
 */

export type ClientRequest =
	| {
			op: 'open';
			host: string;
			port: number;
			paths: string[];
			/** Opens in flight at once in this process. */
			concurrency: number;
			/** No new open is started after this (ms from now); those in flight may still finish. */
			deadlineMs: number;
			localAddresses: string[];
	  }
	| { op: 'arm'; marker: string; expect: number }
	| { op: 'wait'; timeoutMs: number }
	| { op: 'collect' }
	| { op: 'stats' }
	| { op: 'close' };

export interface OpenResult {
	opened: number;
	failed: number;
	/** Started but not ready at the deadline: closed, so what is reached stays what it was. */
	abandoned: number;
	errors: string[];
}
export interface CollectResult {
	armed: number;
	/** Armed streams with at least `expect` marker events. */
	full: number;
	/** Marker events received by armed streams, all told. */
	delivered: number;
	/** First marker arrival per armed stream that got one (clockMs). */
	arrivals: number[];
}
export interface StatsResult {
	ready: number;
	opening: number;
	endedByServer: number;
	failed: number;
	pings: number;
	/** Why streams ended or failed, with how many: [reason, count]. */
	endReasons: [string, number][];
}

interface Stream {
	state: 'opening' | 'ready' | 'gone';
	armed: boolean;
	markers: number;
	firstMarkerAt: number;
	/** A `return` or `serialized-error` the server sent before ending the body. */
	farewell: string | null;
	close(): void;
}

const streams: Stream[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let marker = '';
let expect = 0;
let armedCount = 0;
let fullCount = 0;
let pings = 0;
let endedByServer = 0;
let failed = 0;
const endReasons = new Map<string, number>();
let onFull: (() => void) | null = null;

function noteEnd(reason: string) {
	endReasons.set(reason, (endReasons.get(reason) ?? 0) + 1);
}

function openOne(
	host: string,
	port: number,
	path: string,
	localAddress: string | undefined
): Promise<boolean> {
	return new Promise((resolve) => {
		const stream: Stream = {
			state: 'opening',
			armed: false,
			markers: 0,
			firstMarkerAt: 0,
			farewell: null,
			close: () => {}
		};
		streams.push(stream);
		const handle = openSse(
			{ host, port, path, localAddress },
			agent,
			(event, data, at) => {
				if (event === '') {
					if (stream.state === 'opening') {
						stream.state = 'ready';
						resolve(true);
						return;
					}
					if (!stream.armed || !data.includes(marker)) return;
					if (stream.markers++ === 0) stream.firstMarkerAt = at;
					if (stream.markers === expect && ++fullCount === armedCount) onFull?.();
				} else if (event === 'ping') {
					pings++;
				} else if (event === 'serialized-error' || event === 'return') {
					stream.farewell = data ? `${event} ${data.slice(0, 160)}` : event;
				}
			},
			(reason) => {
				const was = stream.state;
				stream.state = 'gone';
				if (reason === null) {
					if (was === 'opening') resolve(false);
					return;
				}
				if (was === 'ready') {
					endedByServer++;
					noteEnd(stream.farewell ? `${reason} after ${stream.farewell}` : reason);
				} else if (was === 'opening') {
					failed++;
					noteEnd(`open failed: ${stream.farewell ?? reason}`);
					resolve(false);
				}
			}
		);
		stream.close = handle.close;
	});
}

async function open(request: Extract<ClientRequest, { op: 'open' }>): Promise<OpenResult> {
	if (request.paths.length === 0) return { opened: 0, failed: 0, abandoned: 0, errors: [] };
	const deadline = clockMs() + request.deadlineMs;
	let next = 0;
	let opened = 0;
	let failedHere = 0;
	const errorsBefore = new Set(endReasons.keys());
	let inFlight = 0;
	let abandoned = 0;
	const firstOfCall = streams.length;
	await new Promise<void>((resolve) => {
		const timer = setTimeout(() => {
			abandoned = inFlight;
			for (const stream of streams.slice(firstOfCall)) {
				if (stream.state === 'opening') stream.close();
			}
			resolve();
		}, request.deadlineMs);
		let done = 0;
		const launch = () => {
			while (inFlight < request.concurrency && next < request.paths.length) {
				if (clockMs() > deadline) break;
				const i = next++;
				inFlight++;
				const address = request.localAddresses[i % request.localAddresses.length];
				void openOne(request.host, request.port, request.paths[i]!, address).then((ok) => {
					inFlight--;
					done++;
					if (ok) opened++;
					else if (!abandoned) failedHere++;
					if (done === request.paths.length) {
						clearTimeout(timer);
						resolve();
					} else launch();
				});
			}
		};
		launch();
	});
	return {
		opened,
		failed: failedHere,
		abandoned,
		errors: [...endReasons.keys()].filter((r) => !errorsBefore.has(r)).slice(0, 5)
	};
}

function handle(request: ClientRequest): Promise<unknown> | unknown {
	switch (request.op) {
		case 'open':
			return open(request);
		case 'arm': {
			marker = request.marker;
			expect = request.expect;
			armedCount = 0;
			fullCount = 0;
			for (const stream of streams) {
				stream.armed = stream.state === 'ready';
				stream.markers = 0;
				stream.firstMarkerAt = 0;
				if (stream.armed) armedCount++;
			}
			return { armed: armedCount };
		}
		case 'wait':
			return new Promise<{ complete: boolean }>((resolve) => {
				if (fullCount >= armedCount) return resolve({ complete: true });
				const timer = setTimeout(() => {
					onFull = null;
					resolve({ complete: false });
				}, request.timeoutMs);
				onFull = () => {
					clearTimeout(timer);
					onFull = null;
					resolve({ complete: true });
				};
			});
		case 'collect': {
			const arrivals: number[] = [];
			let delivered = 0;
			for (const stream of streams) {
				if (!stream.armed || stream.markers === 0) continue;
				arrivals.push(stream.firstMarkerAt);
				delivered += stream.markers;
			}
			return { armed: armedCount, full: fullCount, delivered, arrivals } satisfies CollectResult;
		}
		case 'stats': {
			let ready = 0;
			let opening = 0;
			for (const stream of streams) {
				if (stream.state === 'ready') ready++;
				else if (stream.state === 'opening') opening++;
			}
			return {
				ready,
				opening,
				endedByServer,
				failed,
				pings,
				endReasons: [...endReasons]
			} satisfies StatsResult;
		}
		case 'close': {
			for (const stream of streams) {
				if (stream.state !== 'gone') stream.close();
			}
			const closed = streams.length;
			streams.length = 0;
			endedByServer = 0;
			failed = 0;
			pings = 0;
			armedCount = 0;
			fullCount = 0;
			endReasons.clear();
			return { closed };
		}
	}
}

if (process.send) {
	process.on('message', (message: { id: number; request: ClientRequest }) => {
		void Promise.resolve(handle(message.request)).then(
			(result) => process.send!({ id: message.id, result }),
			(error: unknown) => process.send!({ id: message.id, error: String(error) })
		);
	});
	// The bench going away (even killed) closes the IPC channel: nothing should outlive it.
	process.on('disconnect', () => process.exit(0));
	// Ctrl-C reaches the whole process group: the bench decides when its clients stop.
	process.on('SIGINT', () => {});
}

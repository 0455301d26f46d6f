import http from 'node:http';
import { Redis } from 'ioredis';

/**
 * The floor of the streams bench: SSE served the way a hand-written node:http server would,
 * in its own process (forked by streams.ts). It does none of the app's work (no auth, no
 * database, no presence engine), so what the app spends above it is the price of its stack.
 *
 * - `GET /stream` opens a stream and says hello with one data event (what the clients wait for).
 * - Every message on `<prefix>events` is written to every open stream as
 *   `data: ${JSON.stringify(event)}\n\n`: parsed once, stringified per stream, as such servers do.
 * - `GET /stream?announce=<id>` also publishes that person online on `<prefix>presence`;
 *   messages there go to the streams opened with `?watch=1` (agents), the way the app's agents
 *   see visitors come online. That is the floor of online propagation between two nodes.
 * - One timer pings every stream with tRPC's ping event, at the app's interval.
 *
 * Environment: REDIS_URL, FLOOR_PREFIX, FLOOR_PING_MS. Tells the parent its port over IPC.
 */

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.FLOOR_PREFIX ?? 'floor:';
const pingMs = Number(process.env.FLOOR_PING_MS ?? 10_000);
const eventsChannel = `${prefix}events`;
const presenceChannel = `${prefix}presence`;

const streams = new Set<http.ServerResponse>();
const watchers = new Set<http.ServerResponse>();
let opened = 0;

const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);

const server = http.createServer((req, res) => {
	const url = new URL(req.url ?? '/', 'http://floor');
	if (url.pathname !== '/stream') {
		res.writeHead(404).end();
		return;
	}
	res.writeHead(200, {
		'content-type': 'text/event-stream',
		'cache-control': 'no-cache, no-transform',
		connection: 'keep-alive'
	});
	res.write(`data: ${JSON.stringify({ type: 'ready', connectionId: String(++opened) })}\n\n`);
	streams.add(res);
	const watch = url.searchParams.get('watch') === '1';
	if (watch) watchers.add(res);
	res.on('close', () => {
		streams.delete(res);
		watchers.delete(res);
	});
	const announce = url.searchParams.get('announce');
	if (announce) {
		const event = {
			type: 'presence',
			userId: announce,
			isOnline: true,
			status: 'active',
			focusConversationId: null,
			lastSeenAt: null,
			currentPage: null,
			version: Date.now()
		};
		void publisher.publish(presenceChannel, JSON.stringify(event));
	}
});

subscriber.on('message', (channel: string, raw: string) => {
	const event: unknown = JSON.parse(raw);
	const audience = channel === presenceChannel ? watchers : streams;
	for (const res of audience) res.write(`data: ${JSON.stringify(event)}\n\n`);
});

setInterval(() => {
	for (const res of streams) res.write('event: ping\ndata: \n\n');
}, pingMs).unref();

await subscriber.subscribe(eventsChannel, presenceChannel);
server.listen(0, '127.0.0.1', () => {
	const { port } = server.address() as { port: number };
	process.send?.({ port });
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
// Ctrl-C reaches the whole process group: the bench decides when its floor stops.
process.on('SIGINT', () => {});

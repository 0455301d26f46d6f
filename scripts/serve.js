// The production entry of a built node (`npm run serve`, what `npm start`, deployments and the
// tests' app processes run). It serves `GET /api/trpc/presence.connect` through the node's
// stream hub (src/server/streams/hub.ts) and hands every other request to adapter-node's
// handler. Importing the handler runs the app's `init` hook, which starts the services and
// registers the hub (unless STREAM_HUB=false: then tRPC serves the streams too).
// Plain JavaScript on purpose: it runs next to the build, outside the bundle.
import http from 'node:http';
import process from 'node:process';
import { handler } from '../build/handler.js';

const STREAM_PATH = '/api/trpc/presence.connect';
const hub = globalThis[Symbol.for('presence.streamHub')]?.() ?? null;

const server = http.createServer((req, res) => {
	if (hub && req.method === 'GET' && pathOf(req.url) === STREAM_PATH) {
		// A stream takes no body; one sent anyway would sit unread under an endless response.
		if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) {
			res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
			res.end(JSON.stringify({ error: { message: 'A presence stream takes no request body' } }));
			return;
		}
		void hub.serve(req, res);
		return;
	}
	handler(req, res, () => {
		res.statusCode = 404;
		res.end('Not found');
	});
});

const seconds = (name) => {
	const value = Number(process.env[name]);
	return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
};
server.keepAliveTimeout = seconds('KEEP_ALIVE_TIMEOUT') ?? server.keepAliveTimeout;
server.headersTimeout = seconds('HEADERS_TIMEOUT') ?? server.headersTimeout;

const host = process.env.HOST ?? '0.0.0.0';
const port = Number(process.env.PORT ?? 3000);
server.listen({ host, port }, () => {
	const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
	const url = `http://${shown}:${port}`;
	const startup = globalThis[Symbol.for('presence.startup')];
	if (process.env.START_SUMMARY === '1' && startup) {
		// `npm start`: where things are, and one line to click (scripts/start.sh).
		console.log(`Postgres: ${startup.postgres}`);
		console.log(`Redis:    ${startup.redis}`);
		const logins = startup.demoLogins.length
			? ` · sign in as ${startup.demoLogins.join(' or ')}`
			: '';
		console.log(`Ready: ${url}${logins} · be a visitor at ${url}/demo`);
		return;
	}
	console.log(`Listening on ${url}${hub ? '' : ' (stream hub off)'}`);
});

// The app's own hook has begun the graceful stop (streams end, connections get their grace,
// Redis and Postgres close); here the server stops taking requests. The process ends by itself
// once nothing is left, as under adapter-node's own server.
let stopping = false;
function shutdown() {
	if (stopping) return;
	stopping = true;
	console.log('Shutting down: closing streams (their clients reconnect) and requests…');
	server.closeIdleConnections();
	server.close(() => console.log('Stopped.'));
	setTimeout(() => server.closeAllConnections(), seconds('SHUTDOWN_TIMEOUT') ?? 30_000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

function pathOf(url) {
	const query = url.indexOf('?');
	return query < 0 ? url : url.slice(0, query);
}

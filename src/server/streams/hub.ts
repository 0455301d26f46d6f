import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { getTRPCErrorFromUnknown } from '@trpc/server/unstable-core-do-not-import';
import type { StreamEvent } from '../../lib/contract';
import type { StreamCloseReason } from '../metrics';
import type { Services } from '../services';
import type { Identity } from '../trpc';
import { authenticateStream } from './authenticate-stream';
import { STREAM_CAP_MESSAGE } from './caps';
import { Frame } from './fanout-writer';
import { HubFanout } from './hub-fanout';
import { HubStream } from './hub-stream';
import { connectedFrame, errorFrame, PING_FRAME, retryFrame, SSE_HEADERS } from './sse';
import { itemForViewer, openConnection, SIGNED_OUT, type OpenedConnection } from './viewer-scope';
import { WorkspaceStreams } from './workspace-streams';

/** tRPC's SSE headers, and `nosniff` (the app's hooks add it to everything else they serve). */
const HUB_HEADERS = { ...SSE_HEADERS, 'X-Content-Type-Options': 'nosniff' };

/** What a stream's request keeps as its URL once authenticated. */
const STREAM_PATH = '/api/trpc/presence.connect';

/**
 * Each stream is pinged once per ping interval, a slice of the node's streams every 20 ms (a
 * five-hundredth at tRPC's 10 s): no ping pass holds the loop for long (10,000 pings in one pass
 * are some 50 ms of writes, 20 well under a millisecond), so an open or a change that arrives
 * meanwhile hardly waits. Fewer, larger slices (200 streams every 200 ms) showed in the online
 * propagation's slowest samples.
 */
const PING_TICK_MS = 20;

/** How long a workspace stays subscribed after its last stream closed: a quick return can resume. */
const LINGER_MS = 15_000;

export interface StreamHubOptions {
	services: Services;
	/** The router's error shape for an error of `presence.connect`: what tRPC itself would send. */
	errorShape: (error: TRPCError) => unknown;
	/** tRPC's `sse` settings: the options sent in `connected`, and how often to ping. */
	sse: { pingIntervalMs: number; client: { reconnectAfterInactivityMs?: number } };
	/** The client address of a request (for the per-address cap). */
	addressOf?: (req: IncomingMessage) => string;
}

/**
 * Every open presence stream of this node (docs/design.md §3, "streams"), served over tRPC's own
 * SSE wire format (`sse.ts`) so the stock `httpSubscriptionLink` reads it. What a viewer gets is
 * decided by `viewer-scope.ts`, shared with the tRPC procedure. The hub runs each stream's life:
 * who opens it (`authenticateStream`), its caps, `ready` or a resume, closing and the grace it
 * leaves, the workspace's channels while anyone listens. Per stream it keeps a socket, the
 * viewer's scope and its connection id, indexed by audience (`WorkspaceStreams`); per event one
 * frame per distinct payload goes to every socket of the audience (`HubFanout`). One timer pings
 * a slice of the streams every 20 ms with one shared Buffer.
 */
export class StreamHub {
	#services: Services;
	#options: StreamHubOptions;
	#fanout: HubFanout;
	#workspaces = new Map<string, WorkspaceStreams>();
	#byConnection = new Map<string, HubStream>();
	/** Every open stream (opening or live), in the ping group it joined: one group per tick. */
	#groups: Set<HubStream>[];
	#nextGroup = 0;
	#ticks = 0;
	#connected: Buffer;
	#ping = new Frame(PING_FRAME);
	#timer: ReturnType<typeof setInterval> | null = null;
	#controller = new AbortController();
	#stopped = false;
	/** Streams whose `ahead` versions are kept one more tick, then the newer generation. */
	#aheadOld: HubStream[] = [];
	#aheadNew: HubStream[] = [];

	constructor(options: StreamHubOptions) {
		this.#services = options.services;
		this.#options = options;
		this.#connected = connectedFrame(options.sse.client);
		const groups = Math.max(1, Math.round(options.sse.pingIntervalMs / PING_TICK_MS));
		this.#groups = Array.from({ length: groups }, () => new Set<HubStream>());
		this.#fanout = new HubFanout({
			services: options.services,
			overflow: (stream) => this.overflow(stream),
			signOut: (stream, sessionIds) => this.#signOut(stream, sessionIds)
		});
	}

	/** Starts the ping timer and the expiry watch; ends every stream when the node shuts down. */
	start(): this {
		const { presence, shutdownSignal } = this.#services;
		const groups = this.#groups.length;
		this.#timer = setInterval(() => this.#tick(), this.#options.sse.pingIntervalMs / groups);
		this.#timer.unref();
		presence.watchExpiries((connectionId) => {
			const stream = this.#byConnection.get(connectionId);
			if (stream) this.#close(stream, 'expired');
		}, this.#controller.signal);
		if (shutdownSignal.aborted) this.stop();
		else shutdownSignal.addEventListener('abort', () => this.stop(), { once: true });
		return this;
	}

	/** Ends every stream without `return`, so each client reconnects (to another node). */
	stop(): void {
		if (this.#stopped) return;
		this.#stopped = true;
		if (this.#timer) clearInterval(this.#timer);
		this.#controller.abort();
		for (const group of this.#groups)
			for (const stream of [...group]) this.#close(stream, 'shutdown');
		for (const ws of this.#workspaces.values()) {
			if (ws.linger) clearTimeout(ws.linger);
			ws.controller.abort();
		}
		this.#workspaces.clear();
	}

	/** Open streams (opening or live). */
	get size(): number {
		let size = 0;
		for (const group of this.#groups) size += group.size;
		return size;
	}

	/** Serves `GET /api/trpc/presence.connect`. Never throws: errors go on the wire, as tRPC sends them. */
	async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
		// Shutting down: end at once, the client's EventSource comes back (to another node).
		if (this.#stopped) return void this.#start(res).end();

		let identity: Identity;
		let lastEventId: string | null;
		try {
			({ identity, lastEventId } = await authenticateStream(this.#services, req));
		} catch (error) {
			const trpcError = getTRPCErrorFromUnknown(error);
			this.#services.metrics.streamRefused(
				trpcError.code === 'UNAUTHORIZED' ? 'unauthorized' : 'bad_request'
			);
			return this.#refuse(res, trpcError);
		}
		if (this.#stopped) return void this.#start(res).end();
		// The request lives as long as the stream (hours); its credentials need not: a visitor's
		// URL carries their token (about 0.3 KB a stream).
		req.url = STREAM_PATH;
		const address = this.#options.addressOf?.(req) ?? req.socket.remoteAddress ?? 'unknown';
		const release = this.#services.streamCaps.acquire(
			`${identity.workspaceId}:${identity.userId}`,
			address
		);
		if (!release) {
			this.#services.metrics.streamRefused('cap');
			return this.#refuse(
				res,
				new TRPCError({ code: 'TOO_MANY_REQUESTS', message: STREAM_CAP_MESSAGE })
			);
		}

		// Register before anything else: the person's coming online, which everyone who sees them
		// waits for, is published by it. The stream joins `opening` in this same tick, so nothing
		// that arrives meanwhile is missed.
		const ws = this.#workspace(identity.workspaceId);
		const opening = ws.subscribed
			? openConnection(this.#services, identity)
			: ws.ready.then(() => openConnection(this.#services, identity));
		this.#start(res);
		// Nor its headers, now that they are read (the caps, the response's start): an agent's
		// cookie is their session, and the two copies (raw and parsed) were 0.2 KB of heap a stream.
		req.headers = {};
		req.rawHeaders = [];
		const stream = new HubStream({
			res,
			workspaceId: identity.workspaceId,
			userId: identity.userId,
			sessionId: identity.sessionId,
			openedAt: this.#fanout.seq,
			limit: this.#services.config.STREAM_BUFFER_LIMIT_BYTES,
			hub: this
		});
		stream.release = release;
		stream.openedAtMs = this.#services.metrics.streamOpened();
		ws.streams++;
		ws.opening.add(stream);
		stream.pingGroup = this.#nextGroup;
		this.#nextGroup = (this.#nextGroup + 1) % this.#groups.length;
		this.#groups[stream.pingGroup]!.add(stream);
		res.once('close', () => this.#close(stream, 'client'));

		let opened: OpenedConnection;
		try {
			opened = await opening;
		} catch (error) {
			if (stream.closed) return;
			const trpcError = getTRPCErrorFromUnknown(error);
			this.#services.logger.error(
				{ err: error, userId: identity.userId },
				'[hub] opening a stream failed'
			);
			this.#close(stream, 'error', new Frame(errorFrame(this.#options.errorShape(trpcError))));
			return;
		}
		if (stream.closed) {
			await this.#services.presence.disconnect(opened.connectionId).catch(() => {});
			return;
		}
		this.#goLive(ws, stream, opened, lastEventId);
	}

	/** Its socket does not drain: close it; the client comes back and resyncs. */
	overflow(stream: HubStream): void {
		this.#close(stream, 'overflow');
	}

	/**
	 * The response's start: headers, `connected` and `retry`. They wait in the corked socket for
	 * `ready` (or an error), so an open is one write instead of two: on loopback each write costs
	 * tens of µs of CPU. A slow open is uncorked within a ping interval (`#tick`), so the client's
	 * inactivity timer never fires.
	 */
	#start(res: ServerResponse): ServerResponse {
		res.socket?.cork();
		res.writeHead(200, HUB_HEADERS);
		res.write(this.#connected);
		// Should the connection drop (a node crash, a network blip), come back within about a
		// second, before a dead node's lease lapses and its people are shown offline; spread, so a
		// crashed node's clients do not all land on the others at once.
		res.write(retryFrame(500 + Math.random() * 1000));
		return res;
	}

	#refuse(res: ServerResponse, error: TRPCError): void {
		this.#start(res).end(errorFrame(this.#options.errorShape(error)));
	}

	#workspace(workspaceId: string): WorkspaceStreams {
		const known = this.#workspaces.get(workspaceId);
		if (known) {
			if (known.linger) clearTimeout(known.linger);
			known.linger = null;
			return known;
		}
		const ws = new WorkspaceStreams(workspaceId);
		this.#workspaces.set(workspaceId, ws);
		const { presence, events } = this.#services;
		const signal = ws.controller.signal;
		ws.ready = Promise.all([
			presence.listen(workspaceId, (change) => this.#fanout.change(ws, change), signal),
			events.listen(workspaceId, (event) => this.#fanout.event(ws, event), signal),
			presence.listenTyping(workspaceId, (change) => this.#fanout.typing(ws, change), signal),
			this.#services.team.watch(workspaceId, (online) => this.#fanout.team(ws, online), signal)
		]).then(() => {
			ws.since = this.#fanout.seq;
			ws.subscribed = true;
		});
		return ws;
	}

	/**
	 * From opening to live: `ready` (or, for a client resuming with an id this hub can still
	 * serve, `resumed` and what it missed), then what arrived meanwhile, in one write; then the
	 * stream joins the index. Synchronous, so nothing can arrive in between.
	 */
	#goLive(
		ws: WorkspaceStreams,
		stream: HubStream,
		opened: OpenedConnection,
		lastEventId: string | null
	): void {
		const { scope, connectionId } = opened;
		ws.opening.delete(stream);
		stream.scope = scope;
		stream.connectionId = connectionId;
		this.#byConnection.set(connectionId, stream);
		for (const [userId, at] of opened.storedLastSeen) ws.storedLastSeen.set(userId, at);
		const pending = stream.pending ?? [];
		stream.pending = null;
		for (const { item } of pending) {
			if (item.kind === 'event' && item.event.type === 'session-revoked') {
				this.#signOut(stream, item.event.sessionIds);
				if (stream.closed) return;
			}
		}

		const texts: string[] = [];
		const push = (seq: number, event: StreamEvent | null) => {
			if (event) texts.push(this.#fanout.text(seq, event));
		};
		const resume = this.#fanout.resumable(ws, lastEventId);
		if (resume) {
			push(resume.from, {
				type: 'resumed',
				connectionId,
				heartbeatIntervalMs: this.#services.config.PRESENCE_HEARTBEAT_INTERVAL_MS,
				idleAfterMs: this.#services.config.PRESENCE_IDLE_AFTER_MS
			});
			for (const { seq, item } of resume.missed) {
				push(seq, itemForViewer(scope, item, ws.storedLastSeen, null));
			}
		} else {
			push(stream.openedAt, opened.ready);
			for (const { seq, item } of pending) {
				push(seq, itemForViewer(scope, item, ws.storedLastSeen, opened.held));
			}
			// A change already in this snapshot may still be on its way over pub/sub: remember the
			// snapshot's versions for a tick or two so it is not sent again.
			for (const [userId, version] of opened.held) {
				if (version > 0) (stream.ahead ??= new Map()).set(userId, version);
			}
			if (stream.ahead) this.#aheadNew.push(stream);
		}
		stream.writeFirst(new Frame(texts.join('')));
		stream.uncork();
		if (stream.closed) return;
		this.#services.metrics.eventWritten(resume ? 'resumed' : 'ready', 1);
		ws.index(stream);
	}

	/** The stream's session was revoked: UNAUTHORIZED, which the client does not retry. */
	#signOut(stream: HubStream, sessionIds: string[]): void {
		if (stream.sessionId === undefined || !sessionIds.includes(stream.sessionId)) return;
		this.#close(stream, 'error', new Frame(errorFrame(this.#options.errorShape(SIGNED_OUT()))));
	}

	#close(stream: HubStream, reason: StreamCloseReason, last?: Frame): void {
		if (stream.closed) return;
		if (last) stream.write(last);
		stream.closed = true;
		this.#groups[stream.pingGroup]!.delete(stream);
		const ws = this.#workspaces.get(stream.workspaceId);
		if (ws) {
			ws.unindex(stream);
			if (--ws.streams === 0) this.#linger(ws);
		}
		const { connectionId } = stream;
		if (connectionId) {
			this.#byConnection.delete(connectionId);
			this.#services.presence.disconnect(connectionId).catch((error: unknown) => {
				this.#services.logger.warn(
					{ err: error, connectionId },
					'[hub] disconnect failed (the sweep will expire it)'
				);
			});
		}
		stream.release();
		this.#services.metrics.streamClosed(reason, stream.openedAtMs);
		if (reason === 'client') return;
		// Not draining: flushing what it holds would only wait. Otherwise end the body without
		// `return`, so the client's EventSource comes back with its last event id.
		if (reason === 'overflow') return void stream.res.destroy();
		// Back soon; after a shutdown spread over a second, so the other nodes are not hit at once.
		const retryMs = reason === 'shutdown' ? 100 + Math.random() * 900 : 250;
		stream.res.end(retryFrame(retryMs));
	}

	#linger(ws: WorkspaceStreams): void {
		if (ws.linger) clearTimeout(ws.linger);
		ws.linger = setTimeout(() => {
			if (ws.streams > 0 || this.#workspaces.get(ws.id) !== ws) return;
			this.#workspaces.delete(ws.id);
			ws.controller.abort();
		}, LINGER_MS);
		ws.linger.unref();
	}

	/**
	 * Every tick (20 ms): one shared ping to the streams of one group. Once per
	 * interval: opens still waiting uncorked (their client hears `connected` before its inactivity
	 * timer fires; uncorking sooner would cost busy opens a second write), and snapshot versions
	 * older than an interval forgotten.
	 */
	#tick(): void {
		const groups = this.#groups.length;
		const group = this.#groups[this.#ticks % groups]!;
		if (++this.#ticks % groups === 0) {
			for (const ws of this.#workspaces.values()) for (const stream of ws.opening) stream.uncork();
			for (const stream of this.#aheadOld) stream.ahead = null;
			this.#aheadOld = this.#aheadNew;
			this.#aheadNew = [];
		}
		if (group.size > 0) this.#fanout.ping(this.#ping, [...group]);
	}
}

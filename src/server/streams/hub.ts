import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import {
	getTRPCErrorFromUnknown,
	parseConnectionParamsFromString
} from '@trpc/server/unstable-core-do-not-import';
import type { StreamEvent } from '../../lib/events';
import { SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../lib/protocol';
import { readCookie } from '../auth/cookies';
import { createContextInner } from '../context';
import type { WorkspaceEvent } from '../events/types';
import type { StreamCloseReason } from '../metrics';
import type { PresenceChange, TypingChange } from '../presence/types';
import type { Services } from '../services';
import { NO_PERSON, personOf, type Identity } from '../trpc';
import { STREAM_CAP_MESSAGE } from './caps';
import { FanoutWriter, Frame } from './fanout-writer';
import { HubStream } from './hub-stream';
import { ReplayRing } from './replay-ring';
import { StreamIndex } from './stream-index';
import {
	connectedFrame,
	dataFrameText,
	errorFrame,
	lastEventIdOf,
	PING_FRAME,
	retryFrame,
	SSE_HEADERS
} from './sse';
import {
	connectInput,
	itemForViewer,
	openConnection,
	presenceEvent,
	SIGNED_OUT,
	teamEvent,
	typingEvent,
	workspaceStreamEvent,
	type OpenedConnection,
	type StoredLastSeen,
	type StreamItem
} from './viewer-scope';

/** tRPC's SSE headers, and `nosniff` (the app's hooks add it to everything else they serve). */
const HUB_HEADERS = { ...SSE_HEADERS, 'X-Content-Type-Options': 'nosniff' };

/** What a stream's request keeps as its URL once authenticated. */
const STREAM_PATH = '/api/trpc/presence.connect';

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
 * The streams of one workspace on this node, indexed by audience: a presence change of P is
 * written to `watchers(P)` only, a workspace event to the streams of its recipients only, so a
 * change costs its audience, not the node's stream count. The workspace's channels are
 * subscribed once here, not once per stream.
 */
class WorkspaceStreams {
	readonly id: string;
	readonly controller = new AbortController();
	ready: Promise<void> = Promise.resolve();
	/** The hub's sequence number once both channels were subscribed: resumes need to be after it. */
	since = Number.POSITIVE_INFINITY;
	/** Person -> the streams that may see them. */
	readonly watchers = new StreamIndex<HubStream>();
	/** Person -> their own streams (recipients of workspace events). */
	readonly owners = new StreamIndex<HubStream>();
	/** Visitors' streams: the audience of the team's status. */
	readonly visitors = new Set<HubStream>();
	/** Agents' streams: they also see visitors outside their scope (`ViewerScope.sees`). */
	readonly agents = new Set<HubStream>();
	/** Streams between listening and `ready`: they buffer what arrives. */
	readonly opening = new Set<HubStream>();
	/** Stored `last_seen_at` of the people these streams see (the same for every viewer). */
	readonly storedLastSeen: StoredLastSeen = new Map();
	streams = 0;
	linger: ReturnType<typeof setTimeout> | null = null;

	constructor(id: string) {
		this.id = id;
	}
}

/**
 * The streams that see a person's changes: those whose scope holds them, and every agent's. A
 * visitor with no conversation yet is in no one's scope, yet agents list them ("visitors online
 * now", `ViewerScope.sees`).
 */
function* watchersOf(ws: WorkspaceStreams, userId: string): Iterable<HubStream> {
	yield* ws.watchers.of(userId);
	for (const stream of ws.agents) if (!stream.scope!.visible.has(userId)) yield stream;
}

/**
 * Every open presence stream of this node (docs/design.md §3, "streams"), served over tRPC's own
 * SSE wire format (`sse.ts`) so the stock `httpSubscriptionLink` reads it. What a viewer gets is
 * decided by `viewer-scope.ts`, shared with the tRPC procedure. Per stream it keeps a socket, the
 * viewer's scope and its connection id; per event it encodes one frame per distinct payload and
 * writes that same Buffer to every socket of the audience, in slices (`FanoutWriter`). One timer
 * pings every stream with one shared Buffer.
 */
export class StreamHub {
	#services: Services;
	#options: StreamHubOptions;
	/** Names this hub's event ids: an id from another node or an earlier process is not resumable. */
	#epoch = randomBytes(6).toString('base64url');
	#seq = 0;
	#ring: ReplayRing;
	#writer: FanoutWriter;
	#workspaces = new Map<string, WorkspaceStreams>();
	#byConnection = new Map<string, HubStream>();
	#all = new Set<HubStream>();
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
		const { config, metrics } = options.services;
		this.#ring = new ReplayRing(config.STREAM_REPLAY_EVENTS);
		this.#connected = connectedFrame(options.sse.client);
		this.#writer = new FanoutWriter({
			onDone: (type, streams, seconds) => {
				if (type === 'ping') return;
				metrics.eventWritten(type, streams);
				metrics.fanout(seconds, streams);
			}
		});
	}

	/** Starts the ping timer and the expiry watch; ends every stream when the node shuts down. */
	start(): this {
		const { presence, shutdownSignal } = this.#services;
		this.#timer = setInterval(() => this.#tick(), this.#options.sse.pingIntervalMs);
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
		for (const stream of [...this.#all]) this.#close(stream, 'shutdown');
		for (const ws of this.#workspaces.values()) {
			if (ws.linger) clearTimeout(ws.linger);
			ws.controller.abort();
		}
		this.#workspaces.clear();
	}

	/** Open streams (opening or live). */
	get size(): number {
		return this.#all.size;
	}

	/** Serves `GET /api/trpc/presence.connect`. Never throws: errors go on the wire, as tRPC sends them. */
	async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
		// The headers, `connected` and `retry` wait in the socket for `ready` (or an error), so an
		// open is one write instead of two: on loopback each write costs tens of µs of CPU. A slow
		// open is uncorked by the next ping tick, so the client's inactivity timer never fires.
		res.socket?.cork();
		res.writeHead(200, HUB_HEADERS);
		res.write(this.#connected);
		// Should the connection drop (a node crash, a network blip), come back within about a
		// second, before a dead node's lease lapses and its people are shown offline; spread, so a
		// crashed node's clients do not all land on the others at once.
		res.write(retryFrame(500 + Math.random() * 1000));
		// Shutting down: end at once, the client's EventSource comes back (to another node).
		if (this.#stopped) return void res.end();

		let identity: Identity;
		let lastEventId: string | null;
		try {
			({ identity, lastEventId } = await this.#authenticate(req));
		} catch (error) {
			const trpcError = getTRPCErrorFromUnknown(error);
			this.#services.metrics.streamRefused(
				trpcError.code === 'UNAUTHORIZED' ? 'unauthorized' : 'bad_request'
			);
			return this.#refuse(res, trpcError);
		}
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

		const ws = this.#workspace(identity.workspaceId);
		const stream = new HubStream({
			res,
			workspaceId: identity.workspaceId,
			userId: identity.userId,
			sessionId: identity.sessionId,
			openedAt: this.#seq,
			limit: this.#services.config.STREAM_BUFFER_LIMIT_BYTES,
			hub: this
		});
		stream.release = release;
		stream.openedAtMs = this.#services.metrics.streamOpened();
		ws.streams++;
		ws.opening.add(stream);
		this.#all.add(stream);
		res.once('close', () => this.#close(stream, 'client'));

		let opened: OpenedConnection;
		try {
			await ws.ready;
			opened = await openConnection(this.#services, identity);
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

	async #authenticate(
		req: IncomingMessage
	): Promise<{ identity: Identity; lastEventId: string | null }> {
		const url = new URL(req.url ?? '/', 'http://hub.invalid');
		const params = url.searchParams.get('connectionParams');
		const connectionParams = params ? parseConnectionParamsFromString(params) : null;
		let sessionToken: string | null = null;
		try {
			sessionToken = readCookie(req.headers.cookie, SESSION_COOKIE);
		} catch {
			// A malformed cookie is no session.
		}
		const header = req.headers[VISITOR_TOKEN_HEADER];
		const ctx = createContextInner({
			services: this.#services,
			sessionToken,
			visitorToken: (Array.isArray(header) ? header[0] : header) ?? connectionParams?.visitorToken
		});
		const identity = await personOf(ctx);
		if (!identity) throw NO_PERSON();

		// As tRPC does: the resume id from the header or query joins the input, then it is checked.
		let input: unknown = undefined;
		const rawInput = url.searchParams.get('input');
		if (rawInput) {
			try {
				input = JSON.parse(rawInput);
			} catch (cause) {
				throw new TRPCError({ code: 'PARSE_ERROR', message: 'Not JSON-parsable input', cause });
			}
		}
		const fromHeader = lastEventIdOf(req.headers, url.searchParams);
		if (fromHeader) {
			input =
				input && typeof input === 'object'
					? { ...input, lastEventId: fromHeader }
					: (input ?? { lastEventId: fromHeader });
		}
		const parsed = connectInput.safeParse(input);
		if (!parsed.success) {
			throw new TRPCError({
				code: 'BAD_REQUEST',
				message: parsed.error.message,
				cause: parsed.error
			});
		}
		return { identity, lastEventId: parsed.data?.lastEventId ?? null };
	}

	#refuse(res: ServerResponse, error: TRPCError): void {
		res.end(errorFrame(this.#options.errorShape(error)));
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
			presence.listen(workspaceId, (change) => this.#onChange(ws, change), signal),
			events.listen(workspaceId, (event) => this.#onEvent(ws, event), signal),
			presence.listenTyping(workspaceId, (change) => this.#onTyping(ws, change), signal),
			this.#services.team.watch(workspaceId, (online) => this.#onTeam(ws, online), signal)
		]).then(() => {
			ws.since = this.#seq;
		});
		return ws;
	}

	#id(seq: number): string {
		return `${this.#epoch}-${seq}`;
	}

	#frame(seq: number, event: StreamEvent): Frame {
		return new Frame(dataFrameText(this.#id(seq), JSON.stringify(event)));
	}

	#arrive(ws: WorkspaceStreams, item: StreamItem): number {
		const seq = ++this.#seq;
		this.#ring.push(seq, ws.id, item);
		const limit = this.#services.config.STREAM_QUEUE_LIMIT;
		// One entry shared by every opening stream: with hundreds opening at once, an object per
		// stream per change was most of what opening allocated.
		const entry = { seq, item };
		for (const stream of ws.opening) {
			const pending = stream.pending!;
			if (pending.length >= limit) this.#close(stream, 'overflow');
			else pending.push(entry);
		}
		return seq;
	}

	/** One presence change: at most two copies (chatting with the viewer or not), each encoded once. */
	#onChange(ws: WorkspaceStreams, change: PresenceChange): void {
		const seq = this.#arrive(ws, { kind: 'presence', change });
		if (!ws.watchers.has(change.userId) && ws.agents.size === 0) return;
		const arrived = performance.now();
		let plain: HubStream[] | null = null;
		let withMe: HubStream[] | null = null;
		for (const stream of watchersOf(ws, change.userId)) {
			if (stream.ahead !== null && stream.isStale(change.userId, change.version)) continue;
			if (stream.scope!.chatsWithMe(change)) (withMe ??= []).push(stream);
			else (plain ??= []).push(stream);
		}
		for (const targets of [plain, withMe]) {
			if (!targets) continue;
			const update = targets[0]!.scope!.update(change, ws.storedLastSeen);
			this.#writer.send(this.#frame(seq, presenceEvent(update)), targets, 'presence', arrived);
		}
	}

	/**
	 * Typing: the typist's watchers who share the conversation, one copy. Kept in the replay ring
	 * like any event, so a resumed client does not miss an end and show "typing…" forever.
	 */
	#onTyping(ws: WorkspaceStreams, change: TypingChange): void {
		const seq = this.#arrive(ws, { kind: 'typing', change });
		const arrived = performance.now();
		const targets: HubStream[] = [];
		ws.watchers.forEach(change.userId, (stream) => {
			if (stream.scope!.seesTyping(change)) targets.push(stream);
		});
		if (targets.length === 0) return;
		this.#writer.send(this.#frame(seq, typingEvent(change)), targets, 'typing', arrived);
	}

	/** The team's status flipped (computed once per workspace by `TeamStatus`): one copy for its visitors. */
	#onTeam(ws: WorkspaceStreams, online: boolean): void {
		const seq = this.#arrive(ws, { kind: 'team', online });
		if (ws.visitors.size === 0) return;
		this.#writer.send(
			this.#frame(seq, teamEvent(online)),
			[...ws.visitors],
			'team',
			performance.now()
		);
	}

	/** One workspace event: one copy for all its recipients' streams. */
	#onEvent(ws: WorkspaceStreams, event: WorkspaceEvent): void {
		const seq = this.#arrive(ws, { kind: 'event', event });
		const arrived = performance.now();
		if (event.type === 'resync') {
			// Something never reached this node's ring: no resume may skip over it.
			ws.since = seq;
		}
		const everyone = event.type === 'resync' && event.everyone;
		const targets: HubStream[] = [];
		for (const userId of everyone ? ws.owners.people() : event.recipients) {
			ws.owners.forEach(userId, (stream) => targets.push(stream));
		}
		if (targets.length === 0) return;
		if (event.type === 'session-revoked') {
			for (const stream of targets) this.#signOut(stream, event.sessionIds);
			return;
		}
		if (event.type === 'conversation') {
			// A new conversation widens its participants' scopes: index them under the new people.
			for (const stream of targets) {
				for (const userId of stream.scope!.join(event)) ws.watchers.add(userId, stream);
			}
		}
		const out = workspaceStreamEvent(event);
		if (out) this.#writer.send(this.#frame(seq, out), targets, out.type, arrived);
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
			if (event) texts.push(dataFrameText(this.#id(seq), JSON.stringify(event)));
		};
		const resume = this.#resumable(ws, lastEventId);
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
		stream.write(new Frame(texts.join('')));
		stream.uncork();
		if (stream.closed) return;
		this.#services.metrics.eventWritten(resume ? 'resumed' : 'ready', 1);
		for (const userId of scope.visible) ws.watchers.add(userId, stream);
		ws.owners.add(stream.userId, stream);
		if (scope.kind === 'visitor') ws.visitors.add(stream);
		else ws.agents.add(stream);
	}

	/** What a client resuming from `lastEventId` missed, if this hub still holds all of it. */
	#resumable(
		ws: WorkspaceStreams,
		lastEventId: string | null
	): { from: number; missed: { seq: number; item: StreamItem }[] } | null {
		if (!lastEventId) return null;
		const dash = lastEventId.lastIndexOf('-');
		if (dash < 0 || lastEventId.slice(0, dash) !== this.#epoch) return null;
		const from = Number(lastEventId.slice(dash + 1));
		if (!Number.isSafeInteger(from) || from < ws.since) return null;
		const missed = this.#ring.after(from, this.#seq, ws.id);
		return missed && { from, missed };
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
		this.#all.delete(stream);
		const ws = this.#workspaces.get(stream.workspaceId);
		if (ws) {
			ws.opening.delete(stream);
			if (stream.scope) {
				for (const userId of stream.scope.visible) {
					ws.watchers.remove(userId, stream);
					// Nobody here sees them any more: a busy workspace does not collect every visitor.
					if (!ws.watchers.has(userId)) ws.storedLastSeen.delete(userId);
				}
				ws.owners.remove(stream.userId, stream);
				ws.visitors.delete(stream);
				ws.agents.delete(stream);
			}
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

	/** Every ping interval: one shared ping to every stream; snapshot versions older than a tick forgotten. */
	#tick(): void {
		for (const ws of this.#workspaces.values()) for (const stream of ws.opening) stream.uncork();
		for (const stream of this.#aheadOld) stream.ahead = null;
		this.#aheadOld = this.#aheadNew;
		this.#aheadNew = [];
		if (this.#all.size > 0) this.#writer.send(this.#ping, [...this.#all], 'ping');
	}
}

import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import pg from 'pg';
import {
	type PresenceStatus,
	type PresenceUpdate,
	type StreamEvent,
	SESSION_COOKIE,
	VISITOR_TOKEN_HEADER
} from '../../src/lib/contract';
import { ReportFlush } from '../../src/lib/presence/report-flush';
import { applyIfNewer, replaceWithSnapshot } from '../../src/lib/presence/store-rules';
import { loadConfig } from '../../src/server/config';
import { createKysely } from '../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../tests/support/app-process';
import { createWorkspace } from '../../tests/support/fixtures';
import { startRedisServer, type RedisServerHandle } from '../../tests/support/redis-server';
import {
	fmtInt,
	fmtMs,
	percentile,
	POSTGRES_URL,
	randomTag,
	section,
	sleep,
	type Report
} from './lib';

/**
 * 6. The truth benchmark (issue 10): three app nodes sharing one private redis-server and one
 * fresh database; simulated visitors and agents drive the real HTTP API (streams, heartbeats,
 * focus, pages, messages) while nodes are SIGKILLed and Redis restarts empty. Every client
 * records what it really does (the ground truth) and feeds its own stream into the client's
 * store rules (`src/lib/presence/store-rules.ts`, what `PresenceStore` runs); afterwards the two
 * are compared. It prints figures beside their targets and never fails the run on a miss.
 *
 * The script (every client's actions and their times, the faults and their times) is a function
 * of the seed; the system's answers, and so the figures, are not. `TRUTH_DEBUG=1` prints the
 * truth and the store around each false-green spell longer than 5 s.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'truth-secret-truth-secret-truth-secret-00';

/**
 * A little slower than the tests' timings (tests/support/timings.ts): a few hundred clients heartbeat over HTTP on two
 * shared cores, and the lease must survive that load.
 */
export const TRUTH_TIMINGS = {
	graceMs: 1000,
	heartbeatIntervalMs: 1000,
	heartbeatTimeoutMs: 4000,
	leaseTtlMs: 2000,
	sweepIntervalMs: 250
};

/** How long a sent message may take to reach a live view before it counts as missing. */
const DELIVERY_ALLOWANCE_MS = 3000;
/** A read mark is true when the reader's tab showed the conversation this close to it. */
const READ_SLACK_MS = 1000;
/** Green is allowed this long after the person stopped looking (the issue's 1 s). */
const GREEN_ALLOWANCE_MS = 1000;
/**
 * An EventSource comes back this long after its stream broke without a `retry:` hint. Browsers
 * wait about 3 s against the default 5 s lease; scaled to the lease used here.
 */
const DEFAULT_RETRY_MS = 1000;

export interface TruthOptions {
	seed: number;
	visitors: number;
	agents: number;
	/** Scripted activity; the run then settles for a few seconds with nothing new happening. */
	durationMs: number;
	/**
	 * Send `focus: null` as a new connection's first report. Off: report as PresenceConnection does
	 * today (its sent state starts at null, so a null focus is not sent on a new connection).
	 */
	reportNullFocus: boolean;
}

// ---------------------------------------------------------------- seeded randomness

class Rng {
	#state: number;
	constructor(seed: number) {
		this.#state = seed >>> 0 || 0x9e3779b9;
	}
	/** mulberry32 */
	next(): number {
		let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}
	int(n: number): number {
		return Math.floor(this.next() * n);
	}
	chance(p: number): boolean {
		return this.next() < p;
	}
	between(a: number, b: number): number {
		return a + this.next() * (b - a);
	}
	exp(mean: number): number {
		return -mean * Math.log(1 - this.next());
	}
	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)]!;
	}
	/** Weighted choice among the entries whose weight is > 0. */
	weighted<T extends string>(weights: Record<T, number>): T {
		const entries = Object.entries(weights) as [T, number][];
		const total = entries.reduce((sum, [, w]) => sum + Math.max(0, w), 0);
		let r = this.next() * total;
		for (const [key, w] of entries) {
			if (w <= 0) continue;
			r -= w;
			if (r < 0) return key;
		}
		return entries.find(([, w]) => w > 0)![0];
	}
}

function childSeed(seed: number, ...parts: number[]): number {
	let h = seed >>> 0;
	for (const part of parts) {
		h = Math.imul(h ^ (part + 0x7f4a7c15), 0x85ebca6b) >>> 0;
		h ^= h >>> 13;
	}
	return h;
}

// ---------------------------------------------------------------- intervals

type Interval = [number, number];

function union(intervals: Interval[]): Interval[] {
	const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
	const out: Interval[] = [];
	for (const [a, b] of sorted) {
		const last = out[out.length - 1];
		if (last && a <= last[1]) last[1] = Math.max(last[1], b);
		else out.push([a, b]);
	}
	return out;
}

/** `from` minus `minus`; both unions (sorted, disjoint). */
function subtract(from: Interval[], minus: Interval[]): Interval[] {
	const out: Interval[] = [];
	let j = 0;
	for (const [a0, b] of from) {
		let a = a0;
		while (j < minus.length && minus[j]![1] <= a) j++;
		let k = j;
		while (k < minus.length && minus[k]![0] < b) {
			const [ma, mb] = minus[k]!;
			if (ma > a) out.push([a, ma]);
			a = Math.max(a, mb);
			k++;
		}
		if (a < b) out.push([a, b]);
	}
	return out;
}

function covers(intervals: Interval[], a: number, b: number): boolean {
	return intervals.some(([x, y]) => x <= a && y >= b);
}

// ---------------------------------------------------------------- the cluster

interface CallResult {
	ok: boolean;
	code?: string;
	data?: unknown;
}

class Cluster {
	nodes: (AppNode | null)[] = [];
	calls = 0;
	failures = new Map<string, number>();
	/** Heartbeat round trips (ms): how loaded the nodes, and this process, were. */
	beats: number[] = [];
	#route: Rng;

	constructor(
		readonly env: Record<string, string>,
		seed: number
	) {
		this.#route = new Rng(childSeed(seed, 99));
	}

	live(): number[] {
		return this.nodes.flatMap((n, i) => (n ? [i] : []));
	}

	/** No sticky sessions: a balancer sends each call to any live node. */
	any(): AppNode | null {
		const live = this.live();
		return live.length ? this.nodes[live[this.#route.int(live.length)]!]! : null;
	}

	/** The node a stream opens on: its home while that lives, else the next live one. */
	streamNode(home: number): number | null {
		for (let k = 0; k < this.nodes.length; k++) {
			const i = (home + k) % this.nodes.length;
			if (this.nodes[i]) return i;
		}
		return null;
	}

	async call(proc: string, input: unknown, headers: Record<string, string>): Promise<CallResult> {
		this.calls++;
		for (let attempt = 0; attempt < 3; attempt++) {
			const node = this.any();
			if (!node) break;
			try {
				const response = await fetch(`${node.trpcUrl}/${proc}`, {
					method: 'POST',
					headers: { 'content-type': 'application/json', ...headers },
					body: JSON.stringify(input),
					signal: AbortSignal.timeout(5000)
				});
				const body = (await response.json().catch(() => ({}))) as {
					result?: { data?: unknown };
					error?: { data?: { code?: string } };
				};
				if (response.ok) return { ok: true, data: body.result?.data };
				return this.#fail(proc, body.error?.data?.code ?? `HTTP ${response.status}`);
			} catch {
				// A node killed mid-call, or one that is starting: the balancer tries another.
				await sleep(50);
			}
		}
		return this.#fail(proc, 'NETWORK');
	}

	#fail(proc: string, code: string): CallResult {
		const key = `${proc} ${code}`;
		this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
		return { ok: false, code };
	}
}

// ---------------------------------------------------------------- people and tabs

type EndCause = 'close' | 'lost' | 'crash' | 'reload' | 'end';

interface Person {
	index: number;
	id: string;
	kind: 'agent' | 'visitor';
	headers: Record<string, string>;
	/** The visitor's own conversation; null for agents. */
	conversationId: string | null;
	rng: Rng;
	tabs: Tab[];
	/** When the person reloaded a tab (full page loads). */
	reloads: number[];
}

interface ViewSession {
	start: number;
	end: number;
	received: Map<string, number>;
}

interface StoreEntry {
	t: number;
	status: PresenceStatus | 'unknown';
	version: number;
}

interface Sent {
	connectionId: string | null;
	focus: string | null | undefined;
	page: string | null;
}

let tabCounter = 0;

class Tab {
	readonly serial = tabCounter++;
	readonly openedAt = Date.now();
	/** When the person stopped having this tab (a reload bridges to its successor's opening). */
	endedAt: number | null = null;
	endCause: EndCause | null = null;
	/** 'open' while the script holds it; the client code runs only then. */
	scriptOpen = true;
	/** The node its current stream is on. */
	streamNode: number | null = null;

	/** What the user does in this tab (the ground truth). */
	conversation: string | null = null;
	visible = true;
	page: { url: string; title: string } | null = null;
	focusLog: { t: number; focus: string | null }[] = [];

	/** The client's store, and its history per person as the UI would render it. */
	store = new Map<string, PresenceUpdate>();
	timeline = new Map<string, StoreEntry[]>();
	maxVersion = new Map<string, number>();
	firstReadyAt: number | null = null;
	sessions: ViewSession[] = [];
	/** When its stream was up (between ready/resumed and the stream's end). */
	connected: Interval[] = [];
	#connectedSince: number | null = null;

	#connectionId: string | null = null;
	#lastEventId: string | null = null;
	#retryMs = DEFAULT_RETRY_MS;
	#backoff = 500;
	#stream: AbortController | null = null;
	#heartbeat: ReturnType<typeof setInterval> | null = null;
	#retry: ReturnType<typeof setTimeout> | null = null;
	#sent: Sent = { connectionId: null, focus: null, page: null };
	/** One round of report calls in flight at a time, as PresenceConnection's reports do. */
	#reports = new ReportFlush(() => this.#flushOnce());
	#live = true;

	constructor(
		readonly run: TruthRun,
		readonly person: Person,
		readonly home: number,
		/** Whether this tab goes down with its home node if that node is killed (per crash). */
		readonly vanishCoins: boolean[]
	) {}

	/** The conversation this tab is really chatting in: open and visible. */
	get truthFocus(): string | null {
		return this.scriptOpen && this.visible ? this.conversation : null;
	}

	/** After the opening page set up the tab: the truth starts here, then the client. */
	start() {
		this.#logFocus();
		this.#subscribe(false);
	}

	setConversation(conversation: string | null) {
		this.conversation = conversation;
		this.#changed();
	}

	setVisible(visible: boolean) {
		this.visible = visible;
		this.#changed();
	}

	setPage(page: { url: string; title: string }) {
		this.page = page;
		this.#queueFlush();
	}

	/** The user closes the tab (or the page unloads): the stream closes. */
	close(cause: 'close' | 'reload') {
		if (cause === 'reload' && this.scriptOpen) this.person.reloads.push(Date.now());
		this.#end(cause);
		this.#teardownStream();
	}

	/** The client is gone without a word: no more heartbeats, the socket left as it is. */
	lose(cause: 'lost' | 'crash') {
		this.#end(cause);
	}

	/** The run is over: count nothing after this. */
	finish() {
		if (this.scriptOpen) this.#end('end');
		this.#teardownStream();
	}

	bridgeTo(at: number) {
		this.endedAt = at;
	}

	#end(cause: EndCause) {
		if (!this.scriptOpen) return;
		this.scriptOpen = false;
		this.endedAt = Date.now();
		this.endCause = cause;
		this.#live = false;
		this.#logFocus();
		this.#lostConnection();
		if (this.#retry) clearTimeout(this.#retry);
		this.#retry = null;
		const session = this.sessions[this.sessions.length - 1];
		if (session && session.end === Infinity) session.end = this.endedAt;
	}

	#changed() {
		this.#logFocus();
		this.#queueFlush();
	}

	#logFocus() {
		const focus = this.truthFocus;
		const last = this.focusLog[this.focusLog.length - 1];
		if (!last || last.focus !== focus) this.focusLog.push({ t: Date.now(), focus });
	}

	// -- the client: one stream, heartbeats, reports (as PresenceConnection and the EventSource)

	#subscribe(resume: boolean) {
		if (!this.#live) return;
		const node = this.run.cluster.streamNode(this.home);
		if (node === null) {
			this.#scheduleResubscribe(resume, 500);
			return;
		}
		const controller = new AbortController();
		this.#stream = controller;
		this.streamNode = node;
		const headers: Record<string, string> = {
			accept: 'text/event-stream',
			...this.person.headers
		};
		if (resume && this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
		const url = `${this.run.cluster.nodes[node]!.trpcUrl}/presence.connect`;
		this.run.counts.streamsOpened++;
		void this.#read(url, headers, controller);
	}

	async #read(url: string, headers: Record<string, string>, controller: AbortController) {
		let outcome: 'eof' | 'return' | 'error' = 'eof';
		try {
			const response = await fetch(url, { headers, signal: controller.signal });
			if (!response.ok || !response.body) {
				outcome = 'error';
				await response.body?.cancel();
			} else {
				const decoder = new TextDecoder();
				let buffer = '';
				read: for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
					buffer += decoder.decode(chunk, { stream: true });
					let end: number;
					while ((end = buffer.indexOf('\n\n')) >= 0) {
						const block = buffer.slice(0, end);
						buffer = buffer.slice(end + 2);
						const result = this.#frame(block);
						if (result) {
							outcome = result;
							break read;
						}
					}
				}
			}
		} catch {
			// The socket broke (node killed) or we closed it.
		}
		if (this.#stream !== controller || controller.signal.aborted) return;
		this.#stream = null;
		controller.abort();
		this.#lostConnection();
		if (!this.#live) return;
		this.run.counts.streamsBroken++;
		if (outcome === 'eof') {
			// EventSource: back after the server's retry hint, with the last event id.
			this.#scheduleResubscribe(true, this.#retryMs);
		} else {
			// The link completed or failed: PresenceConnection resubscribes afresh, with backoff.
			this.#scheduleResubscribe(false, this.#backoff);
			this.#backoff = Math.min(this.#backoff * 2, 10_000);
		}
	}

	/** One SSE block; returns how the stream ends when the block ends it. */
	#frame(block: string): 'return' | 'error' | null {
		let event: string | null = null;
		let id: string | null = null;
		const data: string[] = [];
		for (const line of block.split('\n')) {
			const colon = line.indexOf(':');
			const field = colon < 0 ? line : line.slice(0, colon);
			const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
			if (field === 'event') event = value;
			else if (field === 'data') data.push(value);
			else if (field === 'id') id = value;
			else if (field === 'retry' && /^\d+$/.test(value)) this.#retryMs = Number(value);
		}
		if (id !== null) this.#lastEventId = id;
		if (event === 'return') return 'return';
		if (event === 'serialized-error') {
			this.run.counts.streamErrors++;
			return 'error';
		}
		if (event !== null || data.length === 0) return null; // connected, ping, retry-only
		if (!this.#live) return null;
		this.#dispatch(JSON.parse(data.join('\n')) as StreamEvent);
		return null;
	}

	#dispatch(event: StreamEvent) {
		const t = Date.now();
		this.run.counts.events++;
		switch (event.type) {
			case 'ready':
			case 'resumed': {
				this.run.counts[event.type]++;
				this.#backoff = 500;
				if (event.type === 'ready') {
					replaceWithSnapshot(this.store, event.snapshot);
					this.#recordAll(t);
					this.firstReadyAt ??= t;
					// The widget and the inbox refetch what they show on every `ready`.
					const last = this.sessions[this.sessions.length - 1];
					if (last && last.end === Infinity) last.end = t;
					this.sessions.push({ start: t, end: Infinity, received: new Map() });
				}
				this.#connectionId = event.connectionId;
				this.#connectedSince ??= t;
				this.#startHeartbeat(event.heartbeatIntervalMs);
				this.#queueFlush();
				break;
			}
			case 'presence':
				if (applyIfNewer(this.store, event)) this.#record(t, event.userId);
				break;
			case 'message': {
				const session = this.sessions[this.sessions.length - 1];
				if (session && !session.received.has(event.message.id))
					session.received.set(event.message.id, t);
				break;
			}
			case 'read':
				this.run.noteRead(event.conversationId, event.readerId, event.at, t);
				break;
		}
	}

	#recordAll(t: number) {
		for (const userId of new Set([...this.timeline.keys(), ...this.store.keys()])) {
			this.#record(t, userId);
		}
	}

	#record(t: number, userId: string) {
		if (userId === this.person.id) return;
		const held = this.store.get(userId);
		const entry: StoreEntry = {
			t,
			status: held?.status ?? 'unknown',
			version: held?.version ?? 0
		};
		let line = this.timeline.get(userId);
		if (!line) this.timeline.set(userId, (line = []));
		const last = line[line.length - 1];
		if (last && last.status === entry.status && last.version === entry.version) return;
		line.push(entry);
		if (held) {
			const max = this.maxVersion.get(userId) ?? 0;
			if (held.version < max) this.run.noteStale(this, userId, held.version, max);
			else this.maxVersion.set(userId, held.version);
		}
	}

	#startHeartbeat(intervalMs: number) {
		this.#stopHeartbeat();
		this.#heartbeat = setInterval(() => void this.#beat(), Math.max(100, intervalMs));
	}

	#stopHeartbeat() {
		if (this.#heartbeat) clearInterval(this.#heartbeat);
		this.#heartbeat = null;
	}

	async #beat() {
		const connectionId = this.#connectionId;
		if (!connectionId || !this.#live) return;
		const sent = Date.now();
		const result = await this.run.cluster.call(
			'presence.heartbeat',
			{ connectionId },
			this.person.headers
		);
		this.run.cluster.beats.push(Date.now() - sent);
		// The server no longer knows this connection: PresenceConnection starts a fresh stream.
		if (result.code === 'NOT_FOUND' && connectionId === this.#connectionId) this.#restart();
	}

	#restart() {
		this.run.counts.restarts++;
		this.#teardownStream();
		this.#scheduleResubscribe(false, 0);
	}

	#lostConnection() {
		if (this.#connectedSince !== null) this.connected.push([this.#connectedSince, Date.now()]);
		this.#connectedSince = null;
		this.#connectionId = null;
		this.#stopHeartbeat();
	}

	#teardownStream() {
		const stream = this.#stream;
		this.#stream = null;
		stream?.abort();
		this.#lostConnection();
	}

	#scheduleResubscribe(resume: boolean, delay: number) {
		if (!this.#live) return;
		if (this.#retry) clearTimeout(this.#retry);
		this.#retry = setTimeout(() => {
			this.#retry = null;
			this.#subscribe(resume);
		}, delay);
	}

	#queueFlush() {
		if (this.#live) this.#reports.queue();
	}

	/** PresenceReports' round (src/lib/presence/presence-reports.ts): page when changed, focus when changed since the connection began. */
	async #flushOnce() {
		const connectionId = this.#connectionId;
		if (!connectionId || !this.#live) return;
		if (this.#sent.connectionId !== connectionId) {
			this.#sent = {
				connectionId,
				focus: this.run.options.reportNullFocus ? undefined : null,
				page: null
			};
		}
		const sent = this.#sent;
		const headers = this.person.headers;
		const calls: Promise<void>[] = [];
		const pageKey = this.page ? `${this.page.url}\n${this.page.title}` : null;
		if (this.page && pageKey !== sent.page) {
			sent.page = pageKey;
			calls.push(
				this.run.cluster
					.call('presence.page', { connectionId, ...this.page }, headers)
					.then((result) => {
						if (result.ok) return;
						if (sent === this.#sent && sent.page === pageKey) sent.page = null;
						this.#onCallError(result, connectionId);
					})
			);
		}
		const focus = this.truthFocus;
		if (focus !== sent.focus) {
			sent.focus = focus;
			calls.push(
				this.run.cluster
					.call('presence.focus', { connectionId, conversationId: focus }, headers)
					.then((result) => {
						if (result.ok) return;
						if (sent === this.#sent && sent.focus === focus) sent.focus = undefined;
						this.#onCallError(result, connectionId);
					})
			);
		}
		await Promise.all(calls);
	}

	#onCallError(result: CallResult, connectionId: string) {
		if (result.code === 'NOT_FOUND' && connectionId === this.#connectionId) this.#restart();
	}
}

// ---------------------------------------------------------------- the run

interface SentMessage {
	id: string;
	conversationId: string;
	senderId: string;
	sentAt: number;
	ackAt: number;
}

interface Fault {
	at: number;
	kind: 'crash' | 'redis';
	node?: number;
	/** Index among crashes, for the tabs' coins. */
	crash?: number;
}

class TruthRun {
	people: Person[] = [];
	agents: Person[] = [];
	visitors: Person[] = [];
	messages: SentMessage[] = [];
	reads = new Map<string, { conversationId: string; readerId: string; at: number }>();
	stale: { t: number; tab: number; userId: string; version: number; max: number }[] = [];
	counts = {
		actions: 0,
		tabsOpened: 0,
		streamsOpened: 0,
		streamsBroken: 0,
		streamErrors: 0,
		ready: 0,
		resumed: 0,
		restarts: 0,
		events: 0,
		messagesFailed: 0
	};
	faultLog: string[] = [];
	/** Per kill, the tabs whose stream really was on the killed node. */
	crashTimes: number[] = [];
	/** When each fault hit, to tell what happened around it from what happened in calm. */
	faultTimes: { at: number; kind: 'crash' | 'redis' }[] = [];
	stopped = false;
	t0 = Date.now();
	conversations: string[] = [];

	constructor(
		readonly cluster: Cluster,
		readonly options: TruthOptions,
		readonly crashes: number
	) {}

	noteRead(conversationId: string, readerId: string, at: string, _arrived: number) {
		const key = `${conversationId}|${readerId}|${at}`;
		if (!this.reads.has(key)) this.reads.set(key, { conversationId, readerId, at: Date.parse(at) });
	}

	noteStale(tab: Tab, userId: string, version: number, max: number) {
		this.stale.push({ t: Date.now(), tab: tab.serial, userId, version, max });
	}

	openTab(person: Person, setup: (tab: Tab) => void): Tab {
		const coins = Array.from({ length: this.crashes }, () => person.rng.chance(0.3));
		const tab = new Tab(this, person, person.rng.int(this.cluster.nodes.length), coins);
		setup(tab);
		person.tabs.push(tab);
		this.counts.tabsOpened++;
		tab.start();
		return tab;
	}

	openTabs(person: Person): Tab[] {
		return person.tabs.filter((t) => t.scriptOpen);
	}

	async send(person: Person, conversationId: string) {
		const sentAt = Date.now();
		const result = await this.cluster.call(
			'messages.send',
			{ conversationId, body: `m${this.messages.length} from ${person.index}` },
			person.headers
		);
		const message = (result.data as { message?: { id: string } } | undefined)?.message;
		if (!result.ok || !message) {
			this.counts.messagesFailed++;
			return;
		}
		this.messages.push({
			id: message.id,
			conversationId,
			senderId: person.id,
			sentAt,
			ackAt: Date.now()
		});
	}

	/** One visitor's script: a shop visitor with a chat widget, in one or two tabs. */
	async visitorScript(p: Person, until: number) {
		const r = p.rng;
		const conv = p.conversationId!;
		const page = () => {
			const n = r.int(12);
			return { url: `https://shop.example/p/${n}`, title: `Product ${n}` };
		};
		await sleep(r.between(0, 3000));
		while (Date.now() < until && !this.stopped) {
			const open = this.openTabs(p);
			this.counts.actions++;
			if (open.length === 0) {
				this.openTab(p, (t) => {
					t.page = page();
					t.conversation = r.chance(0.3) ? conv : null;
				});
			} else {
				const tab = r.pick(open);
				const action = r.weighted({
					navigate: 18,
					reload: 12,
					chat: 20,
					visibility: 15,
					close: 9,
					another: open.length < 2 ? 7 : 0,
					message: 8,
					lose: 2
				});
				switch (action) {
					case 'navigate':
						tab.setPage(page());
						break;
					case 'chat':
						tab.setConversation(tab.conversation ? null : conv);
						break;
					case 'visibility':
						tab.setVisible(!tab.visible);
						break;
					case 'close':
						tab.close('close');
						break;
					case 'another':
						this.openTab(p, (t) => {
							t.page = page();
						});
						break;
					case 'lose':
						tab.lose('lost');
						break;
					case 'message':
						if (tab.truthFocus) void this.send(p, conv);
						else tab.setConversation(conv);
						break;
					case 'reload': {
						// A full page load: the new page decides whether the chat comes back open.
						const keepChat = r.chance(0.5) && tab.conversation !== null;
						const next = page();
						const gap = r.between(100, 400);
						tab.close('reload');
						await sleep(gap);
						if (this.stopped) break;
						const successor = this.openTab(p, (t) => {
							t.page = next;
							t.conversation = keepChat ? conv : null;
						});
						tab.bridgeTo(successor.openedAt);
						break;
					}
				}
			}
			await sleep(r.exp(3000));
		}
	}

	/** One agent's script: the inbox in one or two tabs, opening conversations and answering. */
	async agentScript(p: Person, until: number) {
		const r = p.rng;
		await sleep(r.between(0, 1000));
		while (Date.now() < until && !this.stopped) {
			const open = this.openTabs(p);
			this.counts.actions++;
			if (open.length === 0) {
				this.openTab(p, () => {});
			} else {
				const tab = r.pick(open);
				const action = r.weighted({
					open: 30,
					leave: 10,
					visibility: 15,
					message: 30,
					reload: 8,
					another: open.length < 2 ? 4 : 0,
					close: open.length > 1 ? 4 : 1
				});
				switch (action) {
					case 'open':
						tab.setConversation(r.pick(this.conversations));
						break;
					case 'leave':
						tab.setConversation(null);
						break;
					case 'visibility':
						tab.setVisible(!tab.visible);
						break;
					case 'message':
						if (tab.truthFocus) void this.send(p, tab.truthFocus);
						else tab.setConversation(r.pick(this.conversations));
						break;
					case 'another':
						this.openTab(p, () => {});
						break;
					case 'close':
						tab.close('close');
						break;
					case 'reload': {
						// The route keeps the open conversation; the page focuses it again on load.
						const conversation = tab.conversation;
						tab.close('reload');
						await sleep(r.between(100, 400));
						if (this.stopped) break;
						const successor = this.openTab(p, (t) => {
							t.conversation = conversation;
						});
						tab.bridgeTo(successor.openedAt);
						break;
					}
				}
			}
			await sleep(r.exp(1500));
		}
	}

	/** Kills a node: the clients that sat on it and drew the coin go down with it. */
	crash(node: number, index: number) {
		const at = Date.now();
		let vanished = 0;
		for (const person of this.people) {
			for (const tab of this.openTabs(person)) {
				if (tab.home !== node || !tab.vanishCoins[index]) continue;
				// Gone with the node only if its stream really was there; elsewhere it is a lost client.
				tab.lose(tab.streamNode === node ? 'crash' : 'lost');
				vanished++;
			}
		}
		this.crashTimes.push(at);
		this.faultTimes.push({ at, kind: 'crash' });
		return vanished;
	}
}

// ---------------------------------------------------------------- evaluation

const bounds = {
	crash: TRUTH_TIMINGS.leaseTtlMs + TRUTH_TIMINGS.sweepIntervalMs,
	lost: TRUTH_TIMINGS.heartbeatTimeoutMs + TRUTH_TIMINGS.sweepIntervalMs,
	close: TRUTH_TIMINGS.graceMs + TRUTH_TIMINGS.sweepIntervalMs
};

type GhostCause = keyof typeof bounds;

/**
 * A stretch with no tab of the person. `cause` and `from` name the departure the server should
 * notice last (a tab lost a moment before a clean close keeps the person until its timeout).
 */
interface Gap {
	start: number;
	end: number;
	cause: GhostCause;
	from: number;
	deadline: number;
}

function ghostCause(cause: EndCause): GhostCause {
	return cause === 'crash' || cause === 'lost' ? cause : 'close';
}

/** When the person was really there (any tab; a reload's gap counts as there), and the gaps. */
function presenceTruth(person: Person, endAt: number): { online: Interval[]; gaps: Gap[] } {
	const spans = person.tabs.map((t) => ({
		start: t.openedAt,
		end: t.endedAt ?? endAt,
		cause: ghostCause(t.endCause ?? 'end')
	}));
	const online = union(spans.map((s) => [s.start, s.end] as Interval));
	const gaps: Gap[] = [];
	for (let i = 0; i < online.length; i++) {
		const start = online[i]![1];
		if (start >= endAt) continue;
		let last: Gap | null = null;
		for (const span of spans) {
			if (span.end > start) continue;
			const deadline = span.end + bounds[span.cause];
			if (!last || deadline > last.deadline) {
				last = { start, end: 0, cause: span.cause, from: span.end, deadline };
			}
		}
		if (last) gaps.push({ ...last, end: online[i + 1]?.[0] ?? endAt });
	}
	return { online, gaps };
}

/** When the person had a tab open and visible on a conversation the viewer takes part in. */
function greenTruth(person: Person, viewer: Person, endAt: number): Interval[] {
	const out: Interval[] = [];
	for (const tab of person.tabs) {
		const log = tab.focusLog;
		for (let i = 0; i < log.length; i++) {
			const { t, focus } = log[i]!;
			if (focus === null || !viewerShares(viewer, focus)) continue;
			const until = log[i + 1]?.t ?? tab.endedAt ?? endAt;
			out.push([t, until]);
		}
	}
	return union(out);
}

/**
 * After a tab that was showing a conversation with the viewer ended, how long the server may
 * still show it: nothing tells it the tab is gone before its bound (a closed tab's grace keeps
 * a reload's focus, a crashed node's lease, a lost client's heartbeat timeout). Green there is
 * the ghost of that tab's focus, held to the ghost bounds, not a false green.
 */
function vanishedFocus(person: Person, viewer: Person, endAt: number): Interval[] {
	const out: Interval[] = [];
	for (const tab of person.tabs) {
		// A reload is not a departure: the new tab says at once what it shows.
		const cause = tab.endCause;
		if (tab.endedAt === null || tab.endedAt >= endAt) continue;
		if (cause !== 'crash' && cause !== 'lost' && cause !== 'close') continue;
		const last = tab.focusLog.at(-1);
		// A tab's end is logged as a blur at its end time: the focus before it is what it showed.
		const shown = last && last.focus === null && last.t >= tab.endedAt ? tab.focusLog.at(-2) : last;
		if (!shown || shown.focus === null || !viewerShares(viewer, shown.focus)) continue;
		out.push([tab.endedAt, tab.endedAt + bounds[cause]]);
	}
	return union(out);
}

/** Every agent takes part in every visitor conversation; a visitor only in their own. */
function viewerShares(viewer: Person, conversationId: string): boolean {
	return viewer.kind === 'agent' || viewer.conversationId === conversationId;
}

function focusedOn(person: Person, conversationId: string, a: number, b: number, endAt: number) {
	for (const tab of person.tabs) {
		const log = tab.focusLog;
		for (let i = 0; i < log.length; i++) {
			if (log[i]!.focus !== conversationId) continue;
			const until = log[i + 1]?.t ?? tab.endedAt ?? endAt;
			if (log[i]!.t <= b && until >= a) return true;
		}
	}
	return false;
}

const isShown = (s: StoreEntry['status']) => s === 'online' || s === 'active';

interface Figures {
	ghostCrashMax: number;
	ghostCrashCount: number;
	ghostCrashOver: number;
	ghostLostMax: number;
	ghostLostCount: number;
	ghostLostOver: number;
	closeP50: number;
	closeP99: number;
	closeMax: number;
	closeCount: number;
	unresolved: number;
	flickers: number;
	flickerPairs: number;
	/** Where misses happened: within 10 s of a Redis restart, of a node kill, or in calm. */
	flickersBy: Record<Phase, number>;
	stale: number;
	staleBy: Record<Phase, number>;
	/** Stale states that were a snapshot's version 0 (no summary in Redis). */
	staleZero: number;
	greenAfterReload: number;
	/** Spells beyond the allowance by where they began; the longest outside the Redis outage. */
	greenOverBy: Record<Phase, number>;
	greenOverMaxOutside: number;
	/** While the person had a tab open, not chatting with the viewer. */
	greenSeconds: number;
	/** After the person's last tab was gone (the grace, a lost or crashed client's timeout). */
	greenGoneSeconds: number;
	/** While present, within the bound after a tab that showed the conversation ended. */
	greenVanishedSeconds: number;
	greenOverSeconds: number;
	greenOverCount: number;
	greenMax: number;
	falseReads: number;
	reads: number;
	missing: number;
	missingMessages: number;
	late: number;
	messages: number;
	viewsChecked: number;
}

type Phase = 'redis' | 'crash' | 'calm';

function evaluate(run: TruthRun, endAt: number): Figures {
	const phase = (t: number): Phase => {
		const near = run.faultTimes.filter((f) => f.at <= t && t <= f.at + 10_000);
		if (near.some((f) => f.kind === 'redis')) return 'redis';
		return near.length ? 'crash' : 'calm';
	};
	const flickersBy: Record<Phase, number> = { redis: 0, crash: 0, calm: 0 };
	const staleBy: Record<Phase, number> = { redis: 0, crash: 0, calm: 0 };
	for (const s of run.stale) staleBy[phase(s.t)]++;
	let greenAfterReload = 0;
	// While Redis is down nothing can be published: a blur waits for it (and its retry) like
	// every other change. Spells begun then are counted apart from the target.
	const greenOverBy: Record<Phase, number> = { redis: 0, crash: 0, calm: 0 };
	let greenOverMaxOutside = 0;
	const truth = new Map(run.people.map((p) => [p.id, presenceTruth(p, endAt)]));
	const byId = new Map(run.people.map((p) => [p.id, p]));
	const ghosts: Record<'crash' | 'lost' | 'close', number[]> = { crash: [], lost: [], close: [] };
	let unresolved = 0;
	let flickers = 0;
	const flickerPairs = new Set<string>();
	let greenMs = 0;
	let greenOverMs = 0;
	let greenOverCount = 0;
	let greenGoneMs = 0;
	let greenVanishedMs = 0;
	let greenMax = 0;

	for (const viewer of run.people) {
		for (const tab of viewer.tabs) {
			if (tab.firstReadyAt === null) continue;
			const from = tab.firstReadyAt;
			const to = Math.min(tab.endedAt ?? endAt, endAt);
			for (const [userId, line] of tab.timeline) {
				const person = byId.get(userId);
				if (!person || !line.length) continue;
				const { online, gaps } = truth.get(userId)!;
				const at = (t: number) => {
					let lo = 0;
					let hi = line.length - 1;
					let found: StoreEntry | null = null;
					while (lo <= hi) {
						const mid = (lo + hi) >> 1;
						if (line[mid]!.t <= t) {
							found = line[mid]!;
							lo = mid + 1;
						} else hi = mid - 1;
					}
					return found;
				};

				// Ghosts: each real departure the viewer saw the person present for.
				for (const gap of gaps) {
					if (gap.start < from || gap.start >= to) continue;
					const before = at(gap.start);
					if (!before || !isShown(before.status)) continue;
					const cleared = line.find((e) => e.t >= gap.start && !isShown(e.status));
					const limit = Math.min(gap.end, to);
					if (cleared && cleared.t <= limit) {
						ghosts[gap.cause].push(cleared.t - gap.from);
						if (process.env.TRUTH_DEBUG && cleared.t - gap.from > bounds[gap.cause]) {
							const rel = (t: number | null) => (t === null ? null : Math.round(t - run.t0));
							console.log(
								JSON.stringify({
									ghost: gap.cause,
									ms: Math.round(cleared.t - gap.from),
									from: rel(gap.from),
									viewer: viewer.kind,
									tab: tab.serial,
									person: `${person.kind}:${userId.slice(0, 8)}`,
									personTabs: person.tabs
										.filter((t) => (t.endedAt ?? endAt) > gap.from - 5000 && t.openedAt < cleared.t)
										.map((t) => ({
											serial: t.serial,
											opened: rel(t.openedAt),
											ended: rel(t.endedAt),
											cause: t.endCause,
											home: t.home,
											streamNode: t.streamNode,
											connected: t.connected.map(([a, b]) => [rel(a), rel(b)]),
											focus: t.focusLog
												.slice(-3)
												.map((f) => [rel(f.t), f.focus?.slice(0, 6) ?? null])
										})),
									connected: tab.connected
										.filter(([a, b]) => b > gap.from - 3000 && a < cleared.t + 1000)
										.map(([a, b]) => [rel(a), rel(b)]),
									store: line
										.filter((e) => e.t > gap.from - 3000 && e.t < cleared.t + 1000)
										.map((e) => [rel(e.t), e.status, e.version])
								})
							);
						}
					} else if (limit - gap.from > bounds[gap.cause]) {
						// Still shown when the person came back (or the run ended): a ghost at least this long.
						ghosts[gap.cause].push(limit - gap.from);
						if (limit === endAt) unresolved++;
					}
				}

				// Flickers: offline shown, then present again, with no real departure to explain it.
				for (let i = 1; i < line.length; i++) {
					const e = line[i]!;
					if (e.status !== 'offline' || !isShown(line[i - 1]!.status)) continue;
					const back = line.slice(i + 1).find((x) => x.status !== 'offline');
					if (!back || !isShown(back.status) || back.t > to) continue;
					const explained = gaps.some(
						(g) =>
							(g.start <= back.t && g.end >= e.t) || (g.start <= e.t && e.t <= g.deadline + 1000)
					);
					if (!explained && covers(online, e.t, back.t)) {
						flickers++;
						flickersBy[phase(e.t)]++;
						flickerPairs.add(`${tab.serial}|${userId}`);
					}
				}

				// False green: shown online while no tab of theirs looks at a conversation with the viewer.
				const green: Interval[] = [];
				for (let i = 0; i < line.length; i++) {
					if (line[i]!.status !== 'online') continue;
					const a = Math.max(line[i]!.t, from);
					const b = Math.min(line[i + 1]?.t ?? to, to);
					if (b > a) green.push([a, b]);
				}
				const unfocused = subtract(union(green), greenTruth(person, viewer, endAt));
				// Green after the person left is the ghost's share (grace, timeouts), counted apart.
				const gone = subtract(unfocused, online);
				for (const [a, b] of gone) greenGoneMs += b - a;
				// So is green within the bound after a tab showing the conversation ended.
				const present = subtract(unfocused, gone);
				const untrue = subtract(present, vanishedFocus(person, viewer, endAt));
				for (const [a, b] of present) greenVanishedMs += b - a;
				for (const [a, b] of untrue) greenVanishedMs -= b - a;
				for (const [a, b] of untrue) {
					const length = b - a;
					greenMs += length;
					greenMax = Math.max(greenMax, length);
					if (length > GREEN_ALLOWANCE_MS) {
						if (process.env.TRUTH_DEBUG && length > 1500) {
							const rel = (t: number | null) => (t === null ? null : Math.round(t - run.t0));
							console.log(
								JSON.stringify({
									viewer: viewer.kind,
									tab: tab.serial,
									person: person.kind,
									spell: [rel(a), rel(b)],
									reloads: person.reloads.map(rel),
									tabs: person.tabs.map((t) => ({
										s: t.serial,
										open: rel(t.openedAt),
										end: rel(t.endedAt),
										cause: t.endCause,
										focus: t.focusLog.map((x) => [rel(x.t), x.focus?.slice(0, 6) ?? null])
									})),
									store: line
										.filter((e) => e.t > a - 5000 && e.t < b + 2000)
										.map((e) => [rel(e.t), e.status])
								})
							);
						}
						greenOverMs += length - GREEN_ALLOWANCE_MS;
						greenOverCount++;
						greenOverBy[phase(a)]++;
						if (phase(a) !== 'redis') greenOverMaxOutside = Math.max(greenOverMaxOutside, length);
						// Begun while a reload of theirs was under way or just over: the inherited focus.
						if (person.reloads.some((r) => r <= a + 100 && a - r <= 2000)) greenAfterReload++;
					}
				}
			}
		}
	}

	// Read marks: a reader's tab showed the conversation, open and visible, around the mark.
	let falseReads = 0;
	for (const read of run.reads.values()) {
		const reader = byId.get(read.readerId);
		if (!reader) continue;
		if (!focusedOn(reader, read.conversationId, read.at - READ_SLACK_MS, read.at + 200, endAt))
			falseReads++;
	}

	// Acknowledged messages against every view that was live from before the send to well after it.
	let missing = 0;
	let late = 0;
	let viewsChecked = 0;
	const missingMessages = new Set<string>();
	const participants = (conversationId: string) =>
		run.people.filter((p) => p.kind === 'agent' || p.conversationId === conversationId);
	for (const message of run.messages) {
		const due = message.ackAt + DELIVERY_ALLOWANCE_MS;
		if (due > endAt) continue;
		for (const person of participants(message.conversationId)) {
			for (const tab of person.tabs) {
				const live = (t: number) => tab.connected.some(([a, b]) => a <= t && b >= t);
				for (const session of tab.sessions) {
					if (session.start > message.sentAt || Math.min(session.end, endAt) < due) continue;
					// Up when it was sent and when it was due; a break between is for `resumed` to fill.
					if (!live(message.sentAt) || !live(due)) continue;
					viewsChecked++;
					const arrived = session.received.get(message.id);
					if (arrived === undefined) {
						missing++;
						missingMessages.add(message.id);
					} else if (arrived > due) late++;
				}
			}
		}
	}

	const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
	const over = (xs: number[], bound: number) => xs.filter((x) => x > bound).length;
	return {
		ghostCrashMax: max(ghosts.crash),
		ghostCrashCount: ghosts.crash.length,
		ghostCrashOver: over(ghosts.crash, bounds.crash),
		ghostLostMax: max(ghosts.lost),
		ghostLostCount: ghosts.lost.length,
		ghostLostOver: over(ghosts.lost, bounds.lost),
		closeP50: percentile(ghosts.close, 50),
		closeP99: percentile(ghosts.close, 99),
		closeMax: max(ghosts.close),
		closeCount: ghosts.close.length,
		unresolved,
		flickers,
		flickerPairs: flickerPairs.size,
		flickersBy,
		stale: run.stale.length,
		staleBy,
		staleZero: run.stale.filter((s) => s.version === 0).length,
		greenAfterReload,
		greenOverBy,
		greenOverMaxOutside,
		greenSeconds: greenMs / 1000,
		greenGoneSeconds: greenGoneMs / 1000,
		greenVanishedSeconds: greenVanishedMs / 1000,
		greenOverSeconds: greenOverMs / 1000,
		greenOverCount,
		greenMax,
		falseReads,
		reads: run.reads.size,
		missing,
		missingMessages: missingMessages.size,
		late,
		messages: run.messages.length,
		viewsChecked
	};
}

// ---------------------------------------------------------------- the section

export interface TruthResult extends Figures {
	seed: number;
	visitors: number;
	agents: number;
	elapsedMs: number;
	faults: string[];
}

export async function benchTruth(
	report: Report,
	options: TruthOptions
): Promise<TruthResult | null> {
	const S = '6 truth';
	section(
		`6. Truth: 3 app nodes, ${options.visitors} visitors and ${options.agents} agents over HTTP, node kills and a Redis restart; seed ${options.seed}`
	);
	if (!existsSync(path.join(ROOT, 'build/handler.js'))) {
		report.note('build/handler.js is missing: run `npm run build` first; section 6 skipped');
		return null;
	}
	const started = Date.now();
	const dbName = `bench_truth_${randomTag()}`;
	const dbUrl = new URL(POSTGRES_URL);
	dbUrl.pathname = `/${dbName}`;
	let redis: RedisServerHandle | null = null;
	let db: ReturnType<typeof createKysely> | null = null;
	let dbCreated = false;
	let run: TruthRun | null = null;
	let cluster: Cluster | null = null;
	const restarts: Promise<void>[] = [];
	try {
		const admin = new pg.Client({ connectionString: POSTGRES_URL });
		await admin.connect();
		try {
			await admin.query(`create database ${dbName}`);
			dbCreated = true;
		} finally {
			await admin.end();
		}
		redis = await startRedisServer();
		cluster = new Cluster(
			{
				DATABASE_URL: dbUrl.toString(),
				REDIS_URL: redis.url,
				REDIS_KEY_PREFIX: 'truth:',
				SESSION_SECRET: SECRET,
				PRESENCE_GRACE_MS: String(TRUTH_TIMINGS.graceMs),
				PRESENCE_HEARTBEAT_INTERVAL_MS: String(TRUTH_TIMINGS.heartbeatIntervalMs),
				PRESENCE_HEARTBEAT_TIMEOUT_MS: String(TRUTH_TIMINGS.heartbeatTimeoutMs),
				PRESENCE_LEASE_TTL_MS: String(TRUTH_TIMINGS.leaseTtlMs),
				PRESENCE_SWEEP_INTERVAL_MS: String(TRUTH_TIMINGS.sweepIntervalMs)
			},
			options.seed
		);
		const env = cluster.env;
		// The first node migrates the fresh database; the others start once it has.
		cluster.nodes.push(await startAppNode(env));
		const others = await Promise.allSettled([startAppNode(env), startAppNode(env)]);
		for (const other of others) if (other.status === 'fulfilled') cluster.nodes.push(other.value);
		for (const other of others) if (other.status === 'rejected') throw other.reason;

		db = createKysely(dbUrl.toString(), 4);
		const workspace = await createWorkspace(
			{ db, config: loadConfig({ SESSION_SECRET: SECRET }) },
			{ agents: options.agents, visitors: options.visitors }
		);
		const crashes = 2;
		run = new TruthRun(cluster, options, crashes);
		const rng = new Rng(options.seed);
		let index = 0;
		for (const agent of workspace.agents) {
			const person: Person = {
				index: index++,
				id: agent.id,
				kind: 'agent',
				headers: { cookie: `${SESSION_COOKIE}=${agent.sessionToken}` },
				conversationId: null,
				rng: new Rng(childSeed(options.seed, index)),
				tabs: [],
				reloads: []
			};
			run.agents.push(person);
		}
		for (const visitor of workspace.visitors) {
			const person: Person = {
				index: index++,
				id: visitor.id,
				kind: 'visitor',
				headers: { [VISITOR_TOKEN_HEADER]: visitor.visitorToken },
				conversationId: visitor.conversationId,
				rng: new Rng(childSeed(options.seed, index)),
				tabs: [],
				reloads: []
			};
			run.visitors.push(person);
			run.conversations.push(visitor.conversationId);
		}
		run.people = [...run.agents, ...run.visitors];

		const D = options.durationMs;
		const faults: Fault[] = [
			{ at: 0.22 * D, kind: 'crash', node: rng.int(3), crash: 0 },
			{ at: 0.5 * D, kind: 'redis' },
			{ at: 0.75 * D, kind: 'crash', node: rng.int(3), crash: 1 }
		];
		run.t0 = Date.now();
		const loop = monitorEventLoopDelay({ resolution: 20 });
		loop.enable();
		const loadBefore = loadavg()[0]!;
		const until = run.t0 + D;
		const scripts = run.people.map((p) =>
			p.kind === 'agent' ? run!.agentScript(p, until) : run!.visitorScript(p, until)
		);
		const chaos = (async () => {
			for (const fault of faults) {
				await sleep(Math.max(0, run!.t0 + fault.at - Date.now()));
				const t = ((Date.now() - run!.t0) / 1000).toFixed(1);
				if (fault.kind === 'crash') {
					const node = fault.node!;
					if (process.env.TRUTH_DEBUG)
						await debugHolders(redis!.url, `before killing node ${node}`);
					const vanished = run!.crash(node, fault.crash!);
					await cluster!.nodes[node]?.kill();
					cluster!.nodes[node] = null;
					run!.faultLog.push(`t=${t}s SIGKILL node ${node} (${vanished} tabs went with it)`);
					if (process.env.TRUTH_DEBUG) {
						const survivors = cluster!.nodes.filter((n): n is AppNode => n !== null);
						const killedAt = Date.now();
						setTimeout(() => {
							for (const [i, n] of survivors.entries()) {
								for (const line of n.output.join('').split('\n')) {
									if (!line.includes('lost its lease')) continue;
									const raw = (JSON.parse(line) as { time: number | string }).time;
									const time = typeof raw === 'number' ? raw : Date.parse(raw);
									console.log(
										`  debug: survivor ${i} reaped at +${time - killedAt} ms: ${line.slice(0, 160)}`
									);
								}
							}
						}, 4000);
					}
					console.log(`  ${run!.faultLog[run!.faultLog.length - 1]}`);
					// Restarted after a while, as an orchestrator would; its new port takes new streams.
					restarts.push(
						sleep(5000).then(async () => {
							if (run!.stopped) return;
							try {
								cluster!.nodes[node] = await startAppNode(env);
							} catch (error) {
								run!.faultLog.push(`node ${node} did not restart: ${String(error).slice(0, 200)}`);
							}
						})
					);
				} else {
					run!.faultTimes.push({ at: Date.now(), kind: 'redis' });
					await redis!.kill();
					await sleep(1500);
					await redis!.restart();
					run!.faultLog.push(`t=${t}s redis-server killed, restarted empty 1.5 s later`);
					console.log(`  ${run!.faultLog[run!.faultLog.length - 1]}`);
				}
			}
		})();
		await Promise.all([...scripts, chaos]);
		// Let the last departures play out: everything the bounds promise must be visible by then.
		await sleep(bounds.lost + 3000);
		const endAt = Date.now();
		loop.disable();
		const loadAfter = loadavg()[0]!;
		run.stopped = true;
		for (const person of run.people) for (const tab of person.tabs) tab.finish();

		const f = evaluate(run, endAt);
		const elapsedMs = Date.now() - started;
		const counts = run.counts;
		report.add(
			S,
			'script',
			`${fmtInt(counts.actions)} actions`,
			`seed ${options.seed}; ${fmtInt(counts.tabsOpened)} tabs, ${fmtInt(counts.streamsOpened)} streams opened (${fmtInt(counts.ready)} ready, ${fmtInt(counts.resumed)} resumed), ${fmtInt(counts.restarts)} restarts after NOT_FOUND; ${fmtInt(counts.events)} events; ${fmtInt(cluster.calls)} calls`
		);
		for (const line of run.faultLog) report.note(line);
		report.add(
			S,
			'load: heartbeat round trip p50 / p99 / max',
			`${fmtMs(percentile(cluster.beats, 50))} / ${fmtMs(percentile(cluster.beats, 99))} / ${fmtMs(Math.max(...cluster.beats))}`,
			`this process's event-loop delay p99 ${fmtMs(loop.percentile(99) / 1e6)}, max ${fmtMs(loop.max / 1e6)}; machine load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)} on ${cpus().length} cores`
		);
		const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
		const byPhase = (by: Record<Phase, number>) =>
			`${by.redis} near the Redis restart, ${by.crash} near a node kill, ${by.calm} in calm`;
		report.add(
			S,
			'max ghost after a crash',
			fmtMs(f.ghostCrashMax),
			`target <= lease + sweep = ${bounds.crash} ms: ${verdict(f.ghostCrashOver === 0)}; ${f.ghostCrashOver}/${f.ghostCrashCount} viewer-person pairs over`
		);
		report.add(
			S,
			'max ghost after a lost client',
			fmtMs(f.ghostLostMax),
			`target <= heartbeat timeout + sweep = ${bounds.lost} ms: ${verdict(f.ghostLostOver === 0)}; ${f.ghostLostOver}/${f.ghostLostCount} over`
		);
		report.add(
			S,
			'offline after a clean close, p50 / p99',
			`${fmtMs(f.closeP50)} / ${fmtMs(f.closeP99)}`,
			`grace + sweep = ${bounds.close} ms; max ${fmtMs(f.closeMax)}; ${fmtInt(f.closeCount)} seen; ${f.unresolved} ghosts still shown at the end`
		);
		report.add(
			S,
			'flickers',
			fmtInt(f.flickers),
			`target 0: ${verdict(f.flickers === 0)}; ${f.flickerPairs} viewer-person pairs; ${byPhase(f.flickersBy)}`
		);
		report.add(
			S,
			'stale states after reordering',
			fmtInt(f.stale),
			`target 0: ${verdict(f.stale === 0)}; ${byPhase(f.staleBy)}; ${f.staleZero} were a snapshot's version 0`
		);
		report.add(
			S,
			'seconds green while present, not chatting',
			`${f.greenSeconds.toFixed(1)} s`,
			`target 0 beyond ${GREEN_ALLOWANCE_MS} ms outside the Redis outage: ${verdict(f.greenOverCount - f.greenOverBy.redis === 0)} (${f.greenOverBy.calm} in calm, ${f.greenOverBy.crash} near a node kill, longest ${fmtMs(f.greenOverMaxOutside)}); ${f.greenOverBy.redis} within 10 s of the Redis restart (changes wait for Redis); ${f.greenOverSeconds.toFixed(1)} s beyond it in ${fmtInt(f.greenOverCount)} spells in all (${f.greenAfterReload} begun at a reload), longest ${fmtMs(f.greenMax)}`
		);
		report.add(
			S,
			'seconds green after a chatting tab ended',
			`${f.greenVanishedSeconds.toFixed(1)} s`,
			"while another tab kept the person present, within that tab's ghost bound (grace, heartbeat timeout, lease): not of the green target"
		);
		report.add(
			S,
			'seconds green after the person left',
			`${f.greenGoneSeconds.toFixed(1)} s`,
			'part of the ghost time above (grace, heartbeat timeout, lease), not of the green target'
		);
		report.add(
			S,
			'messages marked read while unseen',
			fmtInt(f.falseReads),
			`target 0: ${verdict(f.falseReads === 0)}; of ${fmtInt(f.reads)} read marks`
		);
		report.add(
			S,
			'acknowledged messages missing from a live view',
			fmtInt(f.missing),
			`target 0: ${verdict(f.missing === 0)}; ${f.missingMessages} of ${fmtInt(f.messages)} messages, ${fmtInt(f.viewsChecked)} live views checked, ${f.late} later than ${DELIVERY_ALLOWANCE_MS} ms; ${counts.messagesFailed} sends refused`
		);
		if (cluster.failures.size) {
			const top = [...cluster.failures].sort((a, b) => b[1] - a[1]).slice(0, 6);
			report.note(`failed calls: ${top.map(([k, n]) => `${k} x${n}`).join(', ')}`);
		}
		return {
			...f,
			seed: options.seed,
			visitors: options.visitors,
			agents: options.agents,
			elapsedMs,
			faults: run.faultLog
		};
	} finally {
		if (run) {
			run.stopped = true;
			for (const person of run.people) for (const tab of person.tabs) tab.finish();
		}
		await Promise.allSettled(restarts);
		if (cluster) {
			const nodes = cluster.nodes;
			cluster.nodes = [];
			await Promise.all(nodes.map((node) => node?.kill()));
		}
		await redis?.cleanup();
		await db?.destroy();
		if (dbCreated) {
			const drop = new pg.Client({ connectionString: POSTGRES_URL });
			await drop.connect();
			await drop.query(`drop database if exists ${dbName} with (force)`);
			await drop.end();
		}
	}
}

/** Debug aid (TRUTH_DEBUG): which incarnations Redis knows, their workspaces, and who holds each connection. */
async function debugHolders(url: string, label: string) {
	const { Redis } = await import('ioredis');
	const r = new Redis(url);
	try {
		const nodes = await r.smembers('truth:nodes');
		const lists: Record<string, string[]> = {};
		for (const h of nodes) lists[h] = await r.smembers(`truth:node:${h}:ws`);
		const byHolder: Record<string, number> = {};
		const sets: Record<string, number> = {};
		for (const key of await r.keys('truth:{*}:c:*')) {
			const n = (await r.hget(key, 'n')) ?? 'none';
			byHolder[n] = (byHolder[n] ?? 0) + 1;
		}
		for (const key of await r.keys('truth:{*}:n:*'))
			sets[key.replace(/^.*:n:/, '')] = await r.scard(key);
		console.log(`  debug ${label}: ${JSON.stringify({ nodes, lists, byHolder, sets })}`);
	} finally {
		r.disconnect();
	}
}

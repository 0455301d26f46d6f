import { randomBytes } from 'node:crypto';
import type { StreamEvent } from '../../lib/contract';
import type { WorkspaceEvent } from '../events/types';
import type { PresenceChange, TypingChange } from '../presence/types';
import type { Services } from '../services';
import { FanoutWriter, Frame } from './fanout-writer';
import type { HubStream } from './hub-stream';
import { ReplayRing } from './replay-ring';
import { dataFrameText } from './sse';
import { presenceEvent, teamEvent, typingEvent, workspaceStreamEvent } from './viewer-scope';
import type { StreamItem } from './viewer-scope';
import type { WorkspaceStreams } from './workspace-streams';

/**
 * Every item the hub sends, numbered: written once per distinct copy to its audience now
 * (`FanoutWriter`), buffered for the streams still opening, and kept in the replay ring so a
 * client coming back with its last event id gets what it missed.
 */
export class HubFanout {
	/** Names this hub's event ids: an id from another node or an earlier process is not resumable. */
	#epoch = randomBytes(6).toString('base64url');
	#seq = 0;
	#ring: ReplayRing;
	#writer: FanoutWriter;
	#queueLimit: number;
	#overflow: (stream: HubStream) => void;
	#signOut: (stream: HubStream, sessionIds: string[]) => void;

	constructor(options: {
		services: Services;
		/** A stream that cannot keep up: the hub closes it. */
		overflow: (stream: HubStream) => void;
		/** Sessions were revoked: the hub ends the stream if it is one of theirs. */
		signOut: (stream: HubStream, sessionIds: string[]) => void;
	}) {
		const { config, metrics } = options.services;
		this.#ring = new ReplayRing(config.STREAM_REPLAY_EVENTS);
		this.#queueLimit = config.STREAM_QUEUE_LIMIT;
		this.#overflow = options.overflow;
		this.#signOut = options.signOut;
		this.#writer = new FanoutWriter({
			onDone: (type, streams, seconds) => {
				if (type === 'ping') return;
				metrics.eventWritten(type, streams);
				metrics.fanout(seconds, streams);
			}
		});
	}

	/** The newest sequence number given out. */
	get seq(): number {
		return this.#seq;
	}

	/** One event's frame text, under its id. */
	text(seq: number, event: StreamEvent): string {
		return dataFrameText(`${this.#epoch}-${seq}`, JSON.stringify(event));
	}

	/** One shared frame (a ping) to every stream given. */
	ping(frame: Frame, streams: HubStream[]): void {
		this.#writer.send(frame, streams, 'ping');
	}

	/** What a client resuming from `lastEventId` missed, if this hub still holds all of it. */
	resumable(
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

	/** One presence change: at most two copies (chatting with the viewer or not), each encoded once. */
	change(ws: WorkspaceStreams, change: PresenceChange): void {
		const seq = this.#arrive(ws, { kind: 'presence', change });
		if (!ws.watchers.has(change.userId) && ws.agents.size === 0) return;
		const arrived = performance.now();
		// Only the conversation the person is focused on (while online) makes copies differ.
		const focus = change.isOnline ? change.focusConversationId : null;
		const { userId, version } = change;
		const plain: HubStream[] = [];
		let withMe: HubStream[] | null = null;
		// A plain loop, not an iterator per stream: at 20,000 watchers this runs per change.
		ws.forEachWatcher(userId, (stream) => {
			if (stream.ahead !== null && stream.isStale(userId, version)) return;
			if (focus !== null && stream.scope!.conversations.has(focus)) (withMe ??= []).push(stream);
			else plain.push(stream);
		});
		for (const targets of [plain, withMe]) {
			if (!targets?.length) continue;
			const update = targets[0]!.scope!.update(change, ws.storedLastSeen);
			this.#writer.send(this.#frame(seq, presenceEvent(update)), targets, 'presence', arrived);
		}
	}

	/**
	 * Typing: the typist's watchers who share the conversation, one copy. Kept in the replay ring
	 * like any event, so a resumed client does not miss an end and show "typing…" forever.
	 */
	typing(ws: WorkspaceStreams, change: TypingChange): void {
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
	team(ws: WorkspaceStreams, online: boolean): void {
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
	event(ws: WorkspaceStreams, event: WorkspaceEvent): void {
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

	#frame(seq: number, event: StreamEvent): Frame {
		return new Frame(this.text(seq, event));
	}

	#arrive(ws: WorkspaceStreams, item: StreamItem): number {
		const seq = ++this.#seq;
		this.#ring.push(seq, ws.id, item);
		// One entry shared by every opening stream: with hundreds opening at once, an object per
		// stream per change was most of what opening allocated.
		const entry = { seq, item };
		for (const stream of ws.opening) {
			const pending = stream.pending!;
			if (pending.length >= this.#queueLimit) this.#overflow(stream);
			else pending.push(entry);
		}
		return seq;
	}
}

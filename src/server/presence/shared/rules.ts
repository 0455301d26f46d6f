import type { Availability, CurrentPage, HeartbeatLimit, PresenceState } from '../types';

/**
 * The person-level rules of presence (docs/design.md §2) as pure functions on plain data: what a
 * person shows, derived from their live connections, and what each transition does to them. No
 * clock, timer or I/O: callers pass the time and keep the state. The memory engine decides by
 * these; the randomized test's model checks both backends against them; the Redis backend says
 * the same in Lua (`redis/lua/prelude.lua`: derive, refresh, go_online, go_offline, after_removal;
 * and `register.lua`, `report.lua`, `sweep.lua`).
 */

/** What the rules read of one live connection (one tab). */
export interface ConnectionFacts {
	/** The conversation the tab shows, or null. */
	focus: string | null;
	/** The report time (µs) of `focus`. */
	focusAt: number;
	/** While the focus is only lent by a reload: when it lapses unless the tab confirms it (ms). */
	focusLentUntil: number | null;
	page: CurrentPage | null;
	/** The report time (µs) of `page`. */
	pageAt: number;
	/** Since when the tab reports no input (ms), or null. */
	idleSince: number | null;
}

/** A tab that has said nothing yet. */
export const FRESH_CONNECTION: ConnectionFacts = {
	focus: null,
	focusAt: 0,
	focusLentUntil: null,
	page: null,
	pageAt: 0,
	idleSince: null
};

/** What a person shows, derived from their connections. */
export interface Shown {
	focus: string | null;
	/** The focus comes from a connection that only inherited it (smart delivery does not count it). */
	focusInherited: boolean;
	page: CurrentPage | null;
	/** Only while every connection is idle: the latest of their idle times (ms). */
	idleSince: number | null;
}

/** What reads answer of a person, the Lua's `s:<user>` summary. */
export interface PersonSummary extends Shown {
	online: boolean;
	/** Only grows (see `nextVersion`); 0 = never seen. */
	version: number;
	lastSeenAt: number | null;
	/** Kept while offline too: it is the person's setting, not their tab's. */
	availability: Availability | null;
	/** Page reports since the visit began (`PresenceState.pagesSeen`). */
	pagesSeen: number;
	/** The latest report time (µs): report times only grow per person. */
	reportedAt: number;
}

export const NOTHING_SHOWN: Shown = {
	focus: null,
	focusInherited: false,
	page: null,
	idleSince: null
};

/** Someone never seen: offline, version 0. */
export function newSummary(): PersonSummary {
	return {
		...NOTHING_SHOWN,
		online: false,
		version: 0,
		lastSeenAt: null,
		availability: null,
		pagesSeen: 0,
		reportedAt: 0
	};
}

/**
 * Person-level focus: the latest-reported non-null focus among the live connections; page: the
 * latest-reported page; idle only when every connection is, since the latest of them.
 */
export function derive(connections: Iterable<ConnectionFacts>): Shown {
	let focus: string | null = null;
	let focusAt = -1;
	let focusInherited = false;
	let page: CurrentPage | null = null;
	let pageAt = -1;
	let idleSince: number | null = null;
	let allIdle = true;
	let any = false;
	for (const c of connections) {
		any = true;
		if (c.idleSince === null) allIdle = false;
		else idleSince = Math.max(idleSince ?? 0, c.idleSince);
		if (c.focus !== null && c.focusAt > focusAt) {
			[focus, focusAt, focusInherited] = [c.focus, c.focusAt, c.focusLentUntil !== null];
		}
		if (c.page !== null && c.pageAt > pageAt) [page, pageAt] = [c.page, c.pageAt];
	}
	return { focus, focusInherited, page, idleSince: any && allIdle ? idleSince : null };
}

export function samePage(a: CurrentPage | null, b: CurrentPage | null): boolean {
	return a === b || (a !== null && b !== null && a.url === b.url && a.title === b.title);
}

/**
 * Whether viewers see a difference. Whether the focus is inherited is not shown (no event), but
 * delivery reads it, so it is kept all the same (`reshow`).
 */
export function shownChanged(before: Shown, after: Shown): boolean {
	return (
		before.focus !== after.focus ||
		!samePage(before.page, after.page) ||
		before.idleSince !== after.idleSince
	);
}

/**
 * A version: above the previous one and never behind the clock (µs), so versions only grow,
 * across nodes and across a restart that lost them.
 */
export function nextVersion(previous: number, nowUs: number): number {
	return Math.max(previous + 1, nowUs);
}

/**
 * A focus or page report stamps the person's report time (by the rule of versions: the latest
 * report of any tab wins); a page report also counts as a page seen.
 */
export function reported(
	summary: PersonSummary,
	what: 'focus' | 'page',
	nowUs: number
): { summary: PersonSummary; at: number } {
	const at = nextVersion(summary.reportedAt, nowUs);
	const pagesSeen = what === 'page' ? summary.pagesSeen + 1 : summary.pagesSeen;
	return { summary: { ...summary, reportedAt: at, pagesSeen }, at };
}

/** The tab said what it shows: its own report replaces a lent focus at once (null included). */
export function focusReport(
	conversationId: string | null,
	at: number
): Pick<ConnectionFacts, 'focus' | 'focusAt' | 'focusLentUntil'> {
	return { focus: conversationId || null, focusAt: at, focusLentUntil: null };
}

/** A tab's idle report changes something only when it flips; idle since now. */
export function idleReport(
	idleSince: number | null,
	idle: boolean,
	now: number
): { idleSince: number | null } | null {
	if (idle === (idleSince !== null)) return null;
	return { idleSince: idle ? now : null };
}

/**
 * What opening a connection does: the first one of someone offline brings them online; the
 * first one within their grace (a reload) inherits what they showed, so nothing changes; any
 * other joins the ones they have (what they show is derived again).
 */
export type ConnectOutcome = 'online' | 'inherit' | 'join';

export function connectOutcome(person: {
	connections: number;
	inGrace: boolean;
	online: boolean;
}): ConnectOutcome {
	if (person.connections > 0) return 'join';
	if (person.inGrace) return 'inherit';
	return person.online ? 'join' : 'online';
}

/**
 * What the tab opened within the grace inherits: the person's page, and their focus only lent,
 * until `lendMs` from now, when it lapses unless the tab confirms it (`lentFocusLapsed`).
 */
export function inheritedFacts(
	summary: PersonSummary,
	now: number,
	lendMs: number
): Pick<ConnectionFacts, 'focus' | 'focusAt' | 'focusLentUntil' | 'page' | 'pageAt'> {
	return {
		focus: summary.focus,
		focusAt: summary.focus ? summary.reportedAt : 0,
		focusLentUntil: summary.focus ? now + lendMs : null,
		page: summary.page,
		pageAt: summary.page ? summary.reportedAt : 0
	};
}

/** A reloaded tab that never said what it shows in time: it is not known to show that conversation. */
export function lentFocusLapsed(connection: ConnectionFacts, now: number): boolean {
	return connection.focusLentUntil !== null && connection.focusLentUntil <= now;
}

/** What a connection holds once its lent focus lapsed. */
export const LAPSED_FOCUS: Pick<ConnectionFacts, 'focus' | 'focusLentUntil'> = {
	focus: null,
	focusLentUntil: null
};

/** Coming online: a new visit (no pages seen yet), seen now. */
export function cameOnline(summary: PersonSummary, shown: Shown, now: number): PersonSummary {
	return { ...summary, ...shown, online: true, pagesSeen: 0, lastSeenAt: now };
}

/** Going offline shows nothing but when they were last seen; null when they already were offline. */
export function wentOffline(summary: PersonSummary, now: number): PersonSummary | null {
	if (!summary.online) return null;
	return { ...summary, ...NOTHING_SHOWN, online: false, lastSeenAt: now };
}

/** The person's connections changed (some remain): what they show now, and whether viewers see it. */
export function reshow(
	summary: PersonSummary,
	shown: Shown
): { summary: PersonSummary; changed: boolean } {
	return { summary: { ...summary, ...shown }, changed: shownChanged(summary, shown) };
}

/**
 * Why a connection went: closed (its stream ended) or expired (heartbeat timeout, or its node's
 * lease lapsed). An expiry gets no grace: the timeout already was the wait.
 */
export type RemovalCause = 'closed' | 'expired';

export type RemovalOutcome =
	{ kind: 'reshow' } | { kind: 'grace'; until: number } | { kind: 'offline' };

/**
 * After one of the person's connections went: with others left, what they show is derived again;
 * the last one closing starts the grace (nothing visible changes until it ends); otherwise offline.
 */
export function removalOutcome(
	person: { connections: number; online: boolean },
	cause: RemovalCause,
	graceMs: number,
	now: number
): RemovalOutcome {
	if (person.connections > 0) return { kind: 'reshow' };
	const grace = cause === 'closed' ? graceMs : 0;
	if (grace > 0 && person.online) return { kind: 'grace', until: now + grace };
	return { kind: 'offline' };
}

/** The grace ends at its end, unless a connection came back meanwhile. */
export function graceEnded(graceUntil: number | null, connections: number, now: number): boolean {
	return graceUntil !== null && graceUntil <= now && connections === 0;
}

/**
 * An agent's availability: kept with their summary, a change only when it differs. Without a
 * summary (never seen, or forgotten) there is nothing to keep it with: a change built from
 * nothing would say offline; reads take Postgres's value.
 */
export function availabilityChange(
	summary: PersonSummary | null,
	availability: Availability
): PersonSummary | null {
	if (!summary || summary.availability === availability) return null;
	return { ...summary, availability };
}

/** A heartbeat only moves a connection's deadline later. */
export function heartbeatDeadline(deadline: number, now: number, timeoutMs: number): number {
	return Math.max(deadline, now + timeoutMs);
}

/** A person's heartbeats in one fixed window (`now / windowMs`, rounded down). */
export interface HeartbeatCount {
	window: number;
	n: number;
}

/** Counts one heartbeat attempt against the person's limit (a limit of 0 = none). */
export function countHeartbeat(
	count: HeartbeatCount | undefined,
	now: number,
	{ limit, windowMs }: HeartbeatLimit
): { count: HeartbeatCount | undefined; allowed: boolean } {
	if (limit <= 0) return { count, allowed: true };
	const window = Math.floor(now / windowMs);
	const n = count?.window === window ? count.n + 1 : 1;
	return { count: { window, n }, allowed: n <= limit };
}

/** Offline people are forgotten after this long (the Redis summary's TTL). */
export const FORGET_AFTER_MS = 30 * 24 * 3600 * 1000;

export function forgettable(summary: PersonSummary, connections: number, now: number): boolean {
	return (
		!summary.online &&
		connections === 0 &&
		summary.lastSeenAt !== null &&
		now - summary.lastSeenAt > FORGET_AFTER_MS
	);
}

/**
 * The person as the contract shows them: focus and page only while online. `reading`: a read,
 * which carries `pagesSeen` (changes do not: it is no viewer-visible change by itself).
 */
export function presenceState(
	userId: string,
	summary: PersonSummary,
	reading = false
): PresenceState {
	const { online } = summary;
	const state: PresenceState = {
		userId,
		isOnline: online,
		focusConversationId: online ? summary.focus : null,
		currentPage: online && summary.page ? { ...summary.page } : null,
		lastSeenAt: summary.lastSeenAt,
		version: summary.version
	};
	if (state.focusConversationId !== null && summary.focusInherited) state.focusInherited = true;
	if (online && summary.idleSince !== null) state.idleSince = summary.idleSince;
	if (summary.availability !== null) state.availability = summary.availability;
	if (reading && online && summary.pagesSeen > 0) state.pagesSeen = summary.pagesSeen;
	return state;
}

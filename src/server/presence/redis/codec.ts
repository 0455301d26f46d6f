import { offlineState } from '../shared/state';
import type { CurrentPage, PresenceChange, PresenceState, TypingChange } from '../types';

/**
 * Parsing what the scripts store and publish. Versions and times travel as decimal strings
 * (cjson would round numbers past 14 digits); pages as the JSON string the engine wrote.
 */

interface StoredSummary {
	o?: number;
	v?: string;
	l?: string;
	f?: string;
	/** 1: the focus is inherited, not confirmed by a tab yet. */
	i?: number;
	p?: string;
	/** Idle since (epoch ms), while every connection of the person is idle. */
	d?: string;
	/** An agent's availability, as last set (kept while offline). */
	a?: string;
	/** Pages reported since the visit began. */
	n?: number;
}

/** A bus message: a change, an expiry notice, or a focus/page report made through another node. */
export type BusMessage =
	| { k: 'c'; change: PresenceChange }
	| { k: 'x'; connections: string[] }
	| { k: 'r'; connection: string; field: 'f' | 'p'; value: string; at: string }
	| { k: 't'; change: TypingChange };

export function encodePage(page: CurrentPage): string {
	return JSON.stringify({ url: page.url, title: page.title });
}

function decodePage(raw: string | undefined): CurrentPage | null {
	if (!raw) return null;
	try {
		const page = JSON.parse(raw) as Partial<CurrentPage>;
		return typeof page.url === 'string' && typeof page.title === 'string'
			? { url: page.url, title: page.title }
			: null;
	} catch {
		return null;
	}
}

function toNumberOrNull(raw: string | undefined): number | null {
	if (raw === undefined) return null;
	const n = Number(raw);
	return Number.isFinite(n) ? n : null;
}

export function decodeSummary(userId: string, raw: string | null | undefined): PresenceState {
	if (!raw) return offlineState(userId);
	let stored: StoredSummary;
	try {
		stored = JSON.parse(raw) as StoredSummary;
	} catch {
		return offlineState(userId);
	}
	const isOnline = stored.o === 1;
	const focusConversationId = isOnline && typeof stored.f === 'string' ? stored.f : null;
	const state: PresenceState = {
		userId,
		isOnline,
		focusConversationId,
		currentPage: isOnline ? decodePage(stored.p) : null,
		lastSeenAt: toNumberOrNull(stored.l),
		version: toNumberOrNull(stored.v) ?? 0
	};
	if (focusConversationId !== null && stored.i === 1) state.focusInherited = true;
	const idleSince = isOnline ? toNumberOrNull(stored.d) : null;
	if (idleSince !== null) state.idleSince = idleSince;
	if (stored.a === 'available' || stored.a === 'busy' || stored.a === 'away')
		state.availability = stored.a;
	if (isOnline && typeof stored.n === 'number' && stored.n > 0) state.pagesSeen = stored.n;
	return state;
}

export function decodeChange(raw: string): PresenceChange | null {
	const message = decodeBusMessage(raw);
	return message?.k === 'c' ? message.change : null;
}

export function decodeBusMessage(raw: string): BusMessage | null {
	let data: Record<string, unknown>;
	try {
		data = JSON.parse(raw) as Record<string, unknown>;
	} catch {
		return null;
	}
	switch (data.k) {
		case 'c': {
			if (typeof data.w !== 'string' || typeof data.u !== 'string') return null;
			const state = decodeSummary(data.u, raw);
			return { k: 'c', change: { ...state, workspaceId: data.w } };
		}
		case 'x':
			return Array.isArray(data.c)
				? { k: 'x', connections: data.c.filter((c): c is string => typeof c === 'string') }
				: null;
		case 'r': {
			if (typeof data.c !== 'string' || typeof data.t !== 'string') return null;
			const field = typeof data.f === 'string' ? 'f' : typeof data.p === 'string' ? 'p' : null;
			if (!field) return null;
			return { k: 'r', connection: data.c, field, value: data[field] as string, at: data.t };
		}
		case 't':
			if (typeof data.w !== 'string' || typeof data.u !== 'string' || typeof data.cv !== 'string')
				return null;
			return {
				k: 't',
				change: {
					workspaceId: data.w,
					conversationId: data.cv,
					userId: data.u,
					typing: data.t === 1
				}
			};
		default:
			return null;
	}
}

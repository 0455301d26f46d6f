import { describe, expect, it } from 'vitest';
import {
	availabilityChange,
	cameOnline,
	connectOutcome,
	countHeartbeat,
	derive,
	FORGET_AFTER_MS,
	FRESH_CONNECTION,
	focusReport,
	forgettable,
	graceEnded,
	heartbeatDeadline,
	idleReport,
	inheritedFacts,
	lentFocusLapsed,
	newSummary,
	nextVersion,
	presenceState,
	removalOutcome,
	reported,
	reshow,
	wentOffline,
	type ConnectionFacts,
	type PersonSummary
} from './rules';

const tab = (facts: Partial<ConnectionFacts> = {}): ConnectionFacts => ({
	...FRESH_CONNECTION,
	...facts
});
const shop = { url: 'https://shop.test/', title: 'Shop' };
const cart = { url: 'https://shop.test/cart', title: 'Cart' };
const online = (facts: Partial<PersonSummary> = {}): PersonSummary => ({
	...newSummary(),
	online: true,
	version: 10,
	lastSeenAt: 1_000,
	...facts
});

describe('derive: what a person shows from their tabs', () => {
	it('shows the latest-reported focus, ignoring a later blur in another tab', () => {
		const shown = derive([
			tab({ focus: 'cv1', focusAt: 5 }),
			tab({ focus: 'cv2', focusAt: 7 }),
			tab({ focus: null, focusAt: 9 })
		]);
		expect(shown.focus).toBe('cv2');
		expect(shown.focusInherited).toBe(false);
	});

	it('says when the focus shown is only lent by a reload', () => {
		expect(derive([tab({ focus: 'cv1', focusAt: 5, focusLentUntil: 2_000 })])).toMatchObject({
			focus: 'cv1',
			focusInherited: true
		});
	});

	it('shows the latest-reported page', () => {
		const shown = derive([tab({ page: cart, pageAt: 3 }), tab({ page: shop, pageAt: 4 })]);
		expect(shown.page).toEqual(shop);
	});

	it('is idle only when every tab is, since the latest of them', () => {
		expect(derive([tab({ idleSince: 100 }), tab({ idleSince: 300 })]).idleSince).toBe(300);
		expect(derive([tab({ idleSince: 100 }), tab()]).idleSince).toBeNull();
		expect(derive([]).idleSince).toBeNull();
	});

	it('shows nothing without tabs', () => {
		expect(derive([])).toEqual({ focus: null, focusInherited: false, page: null, idleSince: null });
	});
});

describe('reshow: events only on a visible change', () => {
	it('is a change when focus, page or idle moves', () => {
		const s = online({ focus: 'cv1', page: shop });
		expect(
			reshow(s, { focus: 'cv2', focusInherited: false, page: shop, idleSince: null }).changed
		).toBe(true);
		expect(
			reshow(s, { focus: 'cv1', focusInherited: false, page: cart, idleSince: null }).changed
		).toBe(true);
		expect(
			reshow(s, { focus: 'cv1', focusInherited: false, page: shop, idleSince: 5 }).changed
		).toBe(true);
	});

	it('is no change for an equal page, and keeps whether the focus is inherited without an event', () => {
		const s = online({ focus: 'cv1', page: shop });
		const { summary, changed } = reshow(s, {
			focus: 'cv1',
			focusInherited: true,
			page: { ...shop },
			idleSince: null
		});
		expect(changed).toBe(false);
		expect(summary.focusInherited).toBe(true);
	});
});

describe('versions and report times', () => {
	it('grow past the previous one and never lag the clock', () => {
		expect(nextVersion(10, 5)).toBe(11);
		expect(nextVersion(10, 50)).toBe(50);
		expect(nextVersion(0, 0)).toBe(1);
	});

	it('a report stamps a report time after the last, and only a page counts as a page seen', () => {
		const page = reported(online({ reportedAt: 80 }), 'page', 70);
		expect(page.at).toBe(81);
		expect(page.summary).toMatchObject({ reportedAt: 81, pagesSeen: 1 });
		const focus = reported(page.summary, 'focus', 200);
		expect(focus.at).toBe(200);
		expect(focus.summary.pagesSeen).toBe(1);
	});
});

describe('connections coming', () => {
	it('the first tab of someone offline brings them online, as a new visit seen now', () => {
		expect(connectOutcome({ connections: 0, inGrace: false, online: false })).toBe('online');
		const s = cameOnline(newSummary(), derive([tab()]), 5_000);
		expect(s).toMatchObject({ online: true, lastSeenAt: 5_000, pagesSeen: 0 });
	});

	it('a tab opened within the grace inherits; any other joins', () => {
		expect(connectOutcome({ connections: 0, inGrace: true, online: true })).toBe('inherit');
		expect(connectOutcome({ connections: 2, inGrace: false, online: true })).toBe('join');
		// Shown online with nothing behind it (Redis lost the connections): no second online.
		expect(connectOutcome({ connections: 0, inGrace: false, online: true })).toBe('join');
	});

	it('inherits the page, and the focus only lent until the lend ends', () => {
		const facts = inheritedFacts(online({ focus: 'cv1', page: shop, reportedAt: 42 }), 1_000, 500);
		expect(facts).toEqual({
			focus: 'cv1',
			focusAt: 42,
			focusLentUntil: 1_500,
			page: shop,
			pageAt: 42
		});
		expect(inheritedFacts(online(), 1_000, 500)).toMatchObject({
			focus: null,
			focusLentUntil: null
		});
	});

	it('a lent focus lapses at its end unless the tab reported its own', () => {
		const lent = tab({ focus: 'cv1', focusLentUntil: 1_500 });
		expect(lentFocusLapsed(lent, 1_499)).toBe(false);
		expect(lentFocusLapsed(lent, 1_500)).toBe(true);
		const confirmed = { ...lent, ...focusReport('', 7) };
		expect(confirmed).toMatchObject({ focus: null, focusAt: 7, focusLentUntil: null });
		expect(lentFocusLapsed(confirmed, 9_999)).toBe(false);
	});
});

describe('connections going', () => {
	it('with tabs left, what the person shows is derived again', () => {
		expect(removalOutcome({ connections: 1, online: true }, 'closed', 5_000, 0)).toEqual({
			kind: 'reshow'
		});
	});

	it('the last tab closing starts the grace; expiring takes them offline at once', () => {
		expect(removalOutcome({ connections: 0, online: true }, 'closed', 5_000, 100)).toEqual({
			kind: 'grace',
			until: 5_100
		});
		expect(removalOutcome({ connections: 0, online: true }, 'expired', 5_000, 100)).toEqual({
			kind: 'offline'
		});
		expect(removalOutcome({ connections: 0, online: true }, 'closed', 0, 100)).toEqual({
			kind: 'offline'
		});
	});

	it('the grace ends at its end unless a tab came back', () => {
		expect(graceEnded(5_100, 0, 5_099)).toBe(false);
		expect(graceEnded(5_100, 0, 5_100)).toBe(true);
		expect(graceEnded(5_100, 1, 9_000)).toBe(false);
		expect(graceEnded(null, 0, 9_000)).toBe(false);
	});

	it('going offline shows nothing but when they were last seen, once', () => {
		const gone = wentOffline(
			online({ focus: 'cv1', page: shop, idleSince: 3, availability: 'busy' }),
			9_000
		);
		expect(gone).toMatchObject({
			online: false,
			focus: null,
			page: null,
			idleSince: null,
			lastSeenAt: 9_000,
			availability: 'busy'
		});
		expect(wentOffline(gone!, 9_500)).toBeNull();
	});
});

describe('what else a person carries', () => {
	it('an availability is kept with a summary, a change only when it differs', () => {
		expect(availabilityChange(null, 'busy')).toBeNull();
		const busy = availabilityChange(online(), 'busy');
		expect(busy?.availability).toBe('busy');
		expect(availabilityChange(busy, 'busy')).toBeNull();
	});

	it('an idle report changes something only when it flips', () => {
		expect(idleReport(null, true, 50)).toEqual({ idleSince: 50 });
		expect(idleReport(50, true, 80)).toBeNull();
		expect(idleReport(50, false, 80)).toEqual({ idleSince: null });
		expect(idleReport(null, false, 80)).toBeNull();
	});

	it('a heartbeat only moves the deadline later', () => {
		expect(heartbeatDeadline(1_000, 100, 500)).toBe(1_000);
		expect(heartbeatDeadline(1_000, 800, 500)).toBe(1_300);
	});

	it('heartbeats are counted per fixed window, a limit of 0 is none', () => {
		const limit = { limit: 2, windowMs: 1_000 };
		let count = countHeartbeat(undefined, 1_100, limit);
		expect(count.allowed).toBe(true);
		count = countHeartbeat(count.count, 1_200, limit);
		expect(count.allowed).toBe(true);
		expect(countHeartbeat(count.count, 1_900, limit).allowed).toBe(false);
		expect(countHeartbeat(count.count, 2_000, limit)).toEqual({
			count: { window: 2, n: 1 },
			allowed: true
		});
		expect(countHeartbeat(undefined, 0, { limit: 0, windowMs: 1_000 }).allowed).toBe(true);
	});

	it('offline people are forgotten after the summary TTL, never someone live', () => {
		const gone = { ...newSummary(), lastSeenAt: 0 };
		expect(forgettable(gone, 0, FORGET_AFTER_MS)).toBe(false);
		expect(forgettable(gone, 0, FORGET_AFTER_MS + 1)).toBe(true);
		expect(forgettable(online({ lastSeenAt: 0 }), 0, FORGET_AFTER_MS + 1)).toBe(false);
		expect(forgettable(newSummary(), 0, FORGET_AFTER_MS + 1)).toBe(false);
	});
});

describe('presenceState: the person as the contract shows them', () => {
	it('shows focus, page and idle only while online; reads carry the pages seen', () => {
		const s = online({
			focus: 'cv1',
			focusInherited: true,
			page: shop,
			idleSince: 7,
			pagesSeen: 3,
			availability: 'away'
		});
		expect(presenceState('u1', s, true)).toEqual({
			userId: 'u1',
			isOnline: true,
			focusConversationId: 'cv1',
			focusInherited: true,
			currentPage: shop,
			idleSince: 7,
			lastSeenAt: 1_000,
			version: 10,
			availability: 'away',
			pagesSeen: 3
		});
		expect(presenceState('u1', s)).not.toHaveProperty('pagesSeen');
		expect(presenceState('u1', { ...s, online: false })).toEqual({
			userId: 'u1',
			isOnline: false,
			focusConversationId: null,
			currentPage: null,
			lastSeenAt: 1_000,
			version: 10,
			availability: 'away'
		});
	});
});

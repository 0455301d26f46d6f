/** Time formatting for presence and chat (pure functions; `clock.now` supplies the time). */

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

/** "just now", "42 seconds ago", "5 minutes ago", "3 hours ago", "2 days ago" (time in the past). */
export function relativeTime(at: Date | string | number, now: number): string {
	const then = typeof at === 'number' ? at : new Date(at).getTime();
	if (Number.isNaN(then)) return 'at an unknown time';
	const seconds = Math.max(0, Math.round((now - then) / 1000));
	if (seconds < 10) return 'just now';
	if (seconds < 60) return rtf.format(-seconds, 'second');
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return rtf.format(-minutes, 'minute');
	const hours = Math.floor(minutes / 60);
	if (hours < 24) return rtf.format(-hours, 'hour');
	const days = Math.floor(hours / 24);
	if (days < 30) return rtf.format(-days, 'day');
	const months = Math.floor(days / 30);
	if (months < 12) return rtf.format(-months, 'month');
	return rtf.format(-Math.floor(days / 365), 'year');
}

/** Clock time for message stamps: "14:05", or "12 Mar, 14:05" when not today. */
export function messageTime(at: string, now = Date.now()): string {
	const date = new Date(at);
	const today = new Date(now).toDateString() === date.toDateString();
	return today
		? date.toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' })
		: date.toLocaleString('en', {
				day: 'numeric',
				month: 'short',
				hour: '2-digit',
				minute: '2-digit'
			});
}

/** How long someone has been idle, short: "Idle · <1 min", "Idle · 12 min", "Idle · 2 h". */
export function idleFor(since: Date | string | number, now: number): string {
	const then = typeof since === 'number' ? since : new Date(since).getTime();
	const minutes = Math.max(0, Math.floor((now - then) / 60_000));
	if (Number.isNaN(minutes) || minutes < 1) return 'Idle · <1 min';
	if (minutes < 120) return `Idle · ${minutes} min`;
	return `Idle · ${Math.floor(minutes / 60)} h`;
}

/** Time on the site since a visit began, short: "<1 min", "12 min", "2 h 5 min". */
export function onSiteFor(since: Date | string | number, now: number): string {
	const then = typeof since === 'number' ? since : new Date(since).getTime();
	const minutes = Math.max(0, Math.floor((now - then) / 60_000));
	if (Number.isNaN(minutes) || minutes < 1) return '<1 min';
	if (minutes < 60) return `${minutes} min`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

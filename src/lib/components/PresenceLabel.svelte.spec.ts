import { render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import PresenceLabel from './PresenceLabel.svelte';

/** What a reader sees: the text with whitespace collapsed. */
function text(element: Element) {
	return (element.textContent ?? '').replace(/\s+/g, ' ').trim();
}

const NOW = new Date('2024-05-01T12:00:00.000Z');

describe('PresenceLabel', () => {
	beforeEach(() => {
		vi.useFakeTimers();
		vi.setSystemTime(NOW);
	});
	afterEach(() => vi.useRealTimers());

	it('says Online with a green dot', () => {
		render(PresenceLabel, { status: 'online', lastSeenAt: NOW.toISOString() });
		const label = screen.getByTestId('presence-label');
		expect(text(label)).toMatch(/^Online$/);
		expect(screen.getByRole('img', { name: 'Online' }).getAttribute('data-status')).toBe('online');
	});

	it('says Active with a yellow dot', () => {
		render(PresenceLabel, { status: 'active' });
		expect(text(screen.getByTestId('presence-label'))).toMatch(/^Active$/);
		expect(screen.getByRole('img', { name: 'Active' }).getAttribute('data-status')).toBe('active');
	});

	it('says when an offline person was last seen', () => {
		render(PresenceLabel, {
			status: 'offline',
			lastSeenAt: new Date(NOW.getTime() - 5 * 60_000).toISOString()
		});
		expect(text(screen.getByTestId('presence-label'))).toBe('Offline · Last seen 5 minutes ago');
		expect(screen.getByRole('img', { name: 'Offline' }).getAttribute('data-status')).toBe(
			'offline'
		);
	});

	it('says only Offline for someone never seen', () => {
		render(PresenceLabel, { status: 'offline', lastSeenAt: null });
		expect(text(screen.getByTestId('presence-label'))).toMatch(/^Offline$/);
	});

	it('claims nothing while presence is unknown', () => {
		render(PresenceLabel, { status: 'unknown', lastSeenAt: NOW.toISOString() });
		const label = screen.getByTestId('presence-label');
		expect(text(label)).not.toMatch(/Online|Active|Offline|Last seen/);
		expect(screen.getByRole('img', { name: 'Presence unknown' }).getAttribute('data-status')).toBe(
			'unknown'
		);
	});

	it('says Idle with the minutes for a live person without input, distinct from Active', () => {
		render(PresenceLabel, {
			status: 'active',
			idleSince: new Date(NOW.getTime() - 12 * 60_000 - 5_000).toISOString()
		});
		const label = screen.getByTestId('presence-label');
		expect(text(label)).toBe('Idle · 12 min');
		expect(label.getAttribute('data-idle')).toBe('true');
		expect(screen.getByRole('img', { name: 'Active' })).toBeTruthy();
	});

	it('never says Idle for someone offline', () => {
		render(PresenceLabel, { status: 'offline', idleSince: NOW.toISOString(), lastSeenAt: null });
		expect(text(screen.getByTestId('presence-label'))).toBe('Offline');
	});

	it('shows an agent’s availability beside the dot while they are there', () => {
		render(PresenceLabel, { status: 'active', availability: 'busy' });
		expect(text(screen.getByTestId('presence-label'))).toBe('Active · Busy');
		render(PresenceLabel, { status: 'offline', availability: 'away', lastSeenAt: null });
		expect(screen.getAllByTestId('availability')).toHaveLength(1);
	});
});

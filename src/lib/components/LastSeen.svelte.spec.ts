import { render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import LastSeen from './LastSeen.svelte';

/** What a reader sees: the text with whitespace collapsed. */
function text(element: Element) {
	return (element.textContent ?? '').replace(/\s+/g, ' ').trim();
}

const NOW = new Date('2024-05-01T12:00:00.000Z');

describe('LastSeen', () => {
	beforeEach(() => {
		vi.useFakeTimers();
		vi.setSystemTime(NOW);
	});
	afterEach(() => vi.useRealTimers());

	it('keeps ticking as time passes', async () => {
		render(LastSeen, { at: new Date(NOW.getTime() - 5 * 60_000).toISOString() });
		const label = screen.getByTestId('last-seen');
		expect(text(label)).toBe('Last seen 5 minutes ago');

		await vi.advanceTimersByTimeAsync(60_000);
		expect(text(label)).toBe('Last seen 6 minutes ago');

		await vi.advanceTimersByTimeAsync(55 * 60_000);
		expect(text(label)).toBe('Last seen 1 hour ago');

		// Two days later (the machine slept, say): the next tick shows it. Jumping the clock instead
		// of firing 172,800 one-second ticks keeps the test quick on a loaded machine.
		vi.setSystemTime(Date.now() + 2 * 24 * 3600_000);
		await vi.advanceTimersByTimeAsync(1000);
		expect(text(label)).toBe('Last seen 2 days ago');
	});

	it('starts from "just now" and counts seconds', async () => {
		render(LastSeen, { at: NOW.toISOString() });
		const label = screen.getByTestId('last-seen');
		expect(text(label)).toBe('Last seen just now');
		await vi.advanceTimersByTimeAsync(30_000);
		expect(text(label)).toBe('Last seen 30 seconds ago');
		await vi.advanceTimersByTimeAsync(31_000);
		expect(text(label)).toBe('Last seen 1 minute ago');
	});

	it('shows the exact time on hover and in the markup', () => {
		const at = new Date(NOW.getTime() - 3 * 3600_000).toISOString();
		render(LastSeen, { at });
		const label = screen.getByTestId('last-seen');
		expect(label.getAttribute('datetime')).toBe(at);
		expect(label.getAttribute('title')).toBeTruthy();
	});
});

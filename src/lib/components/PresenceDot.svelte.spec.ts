import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import PresenceDot from './PresenceDot.svelte';

describe('PresenceDot', () => {
	it.each([
		['online', 'Online'],
		['active', 'Active'],
		['offline', 'Offline'],
		['unknown', 'Presence unknown']
	] as const)('shows %s with an accessible name', (status, label) => {
		render(PresenceDot, { status });
		const dot = screen.getByRole('img', { name: label });
		expect(dot.getAttribute('data-status')).toBe(status);
		expect(dot.classList.contains(status)).toBe(true);
	});

	it('names whose dot it is', () => {
		render(PresenceDot, { status: 'online', name: 'Ada' });
		expect(document.body.contains(screen.getByRole('img', { name: 'Ada: Online' }))).toBe(true);
	});
});

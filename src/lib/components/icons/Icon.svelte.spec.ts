import { render } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import Icon, { ICONS } from './Icon.svelte';

describe('Icon', () => {
	it('is decoration by default: hidden from assistive tech, no text that needs an emoji font', () => {
		const { container } = render(Icon, { name: 'send' });
		const svg = container.querySelector('svg')!;
		expect(svg.getAttribute('aria-hidden')).toBe('true');
		expect(svg.hasAttribute('role')).toBe(false);
		expect(svg.querySelectorAll('path')).toHaveLength(ICONS.send.length);
		expect(container.textContent?.trim()).toBe('');
	});

	it('with a label it is an image with that name', () => {
		const { getByRole } = render(Icon, { name: 'x', label: 'Close', size: 12 });
		const svg = getByRole('img', { name: 'Close' });
		expect(svg.getAttribute('width')).toBe('12');
	});
});

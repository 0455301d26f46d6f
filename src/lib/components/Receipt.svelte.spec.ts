import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import Receipt from './Receipt.svelte';

describe('Receipt', () => {
	it.each([
		['sent', 'Sent', null],
		['delivered', 'Delivered', 'check'],
		['read', 'Read', 'check-check']
	] as const)('%s reads "%s", its tick drawn as an SVG icon', (receipt, text, icon) => {
		render(Receipt, { receipt });
		const element = screen.getByTestId('receipt');
		expect(element.textContent?.trim()).toBe(text);
		expect(element.querySelector('svg')?.getAttribute('data-icon') ?? null).toBe(icon);
	});
});

import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import AvailabilitySelect from './AvailabilitySelect.svelte';

describe('AvailabilitySelect', () => {
	it('shows the stored availability and sends a new choice', async () => {
		const onchange = vi.fn(async () => {});
		render(AvailabilitySelect, { current: 'busy', onchange });
		const select = screen.getByRole('combobox', { name: 'Your availability' }) as HTMLSelectElement;
		expect(select.value).toBe('busy');
		await fireEvent.change(select, { target: { value: 'away' } });
		expect(onchange).toHaveBeenCalledWith('away');
	});

	it('says so and goes back to what the server holds when the change fails', async () => {
		const onchange = vi.fn(async () => {
			throw new Error('Too many availability calls');
		});
		render(AvailabilitySelect, { current: 'available', onchange });
		const select = screen.getByRole('combobox', { name: 'Your availability' }) as HTMLSelectElement;
		await fireEvent.change(select, { target: { value: 'away' } });
		expect((await screen.findByRole('alert')).textContent).toBe('Too many availability calls');
		expect(screen.getByTestId('availability-select').getAttribute('data-availability')).toBe(
			'available'
		);
	});
});

import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import Composer from './Composer.svelte';

describe('Composer', () => {
	it('reports typing while the box holds text, not for an emptied box', async () => {
		const ontyping = vi.fn();
		render(Composer, { onsend: async () => {}, ontyping, label: 'Reply' });
		const box = screen.getByRole('textbox', { name: 'Reply' });
		await fireEvent.input(box, { target: { value: 'Hel' } });
		await fireEvent.input(box, { target: { value: 'Hell' } });
		expect(ontyping).toHaveBeenCalledTimes(2);
		await fireEvent.input(box, { target: { value: '' } });
		expect(ontyping).toHaveBeenCalledTimes(2);
	});
});

import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { PRODUCTS } from './products';
import ProductPicture from './ProductPicture.svelte';

describe('ProductPicture', () => {
	it.each(PRODUCTS.map((p) => [p.slug, p] as const))(
		'draws %s as SVG, not as text',
		(_, product) => {
			const { container } = render(ProductPicture, { product });
			const picture = screen.getByRole('img', { name: `Drawing of the ${product.name}` });
			expect(picture.tagName.toLowerCase()).toBe('svg');
			expect(picture.querySelectorAll('path, rect, circle').length).toBeGreaterThan(2);
			expect(container.textContent?.trim()).toBe('');
		}
	);
});

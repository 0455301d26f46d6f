import { error } from '@sveltejs/kit';
import { productBySlug } from '$lib/demo/products';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params }) => {
	const product = productBySlug(params.slug);
	if (!product) error(404, 'No such product');
	return { product };
};

/** The demo shop's catalogue: static data for the `/demo` pages that host the chat widget. */
export type ProductArt = 'kettle' | 'apron' | 'board' | 'mill';

export interface Product {
	slug: string;
	name: string;
	price: number;
	/** Which drawing of ProductPicture.svelte stands in for the product's photo. */
	art: ProductArt;
	/** The picture's background. */
	color: string;
	summary: string;
	description: string;
}

export const PRODUCTS: readonly Product[] = [
	{
		slug: 'blue-kettle',
		name: 'Blue Kettle',
		price: 49,
		art: 'kettle',
		color: '#cfe3ff',
		summary: 'A 1.2 l enamel kettle for every hob.',
		description:
			'Enamelled steel, a whistle you can switch off, and a handle that stays cool. Works on gas, electric and induction hobs.'
	},
	{
		slug: 'linen-apron',
		name: 'Linen Apron',
		price: 32,
		art: 'apron',
		color: '#f4e3c9',
		summary: 'Stonewashed linen with two deep pockets.',
		description:
			'Heavy stonewashed linen that softens with every wash. Adjustable neck strap, long ties, two deep front pockets.'
	},
	{
		slug: 'oak-board',
		name: 'Oak Cutting Board',
		price: 58,
		art: 'board',
		color: '#e8d5bd',
		summary: 'End-grain oak, oiled by hand.',
		description:
			'End-grain European oak that is kind to knives. Oiled by hand; rubber feet keep it still on the counter.'
	},
	{
		slug: 'coffee-mill',
		name: 'Hand Coffee Mill',
		price: 74,
		art: 'mill',
		color: '#dcd3f0',
		summary: 'Steel burrs, 40 grind settings.',
		description:
			'Conical steel burrs with 40 click settings, from espresso to cold brew. Holds 30 g of beans.'
	}
];

export function productBySlug(slug: string): Product | undefined {
	return PRODUCTS.find((p) => p.slug === slug);
}

export function formatPrice(euros: number) {
	return new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' }).format(euros);
}

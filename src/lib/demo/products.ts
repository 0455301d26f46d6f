/** The demo shop's catalogue: static data for the `/demo` pages that host the chat widget. */
export interface Product {
	slug: string;
	name: string;
	price: number;
	/** Shown as the product's "photo". */
	emoji: string;
	color: string;
	summary: string;
	description: string;
}

export const PRODUCTS: readonly Product[] = [
	{
		slug: 'blue-kettle',
		name: 'Blue Kettle',
		price: 49,
		emoji: '🫖',
		color: '#cfe3ff',
		summary: 'A 1.2 l enamel kettle for every hob.',
		description:
			'Enamelled steel, a whistle you can switch off, and a handle that stays cool. Works on gas, electric and induction hobs.'
	},
	{
		slug: 'linen-apron',
		name: 'Linen Apron',
		price: 32,
		emoji: '🧑‍🍳',
		color: '#f4e3c9',
		summary: 'Stonewashed linen with two deep pockets.',
		description:
			'Heavy stonewashed linen that softens with every wash. Adjustable neck strap, long ties, two deep front pockets.'
	},
	{
		slug: 'oak-board',
		name: 'Oak Cutting Board',
		price: 58,
		emoji: '🪵',
		color: '#e8d5bd',
		summary: 'End-grain oak, oiled by hand.',
		description:
			'End-grain European oak that is kind to knives. Oiled by hand; rubber feet keep it still on the counter.'
	},
	{
		slug: 'coffee-mill',
		name: 'Hand Coffee Mill',
		price: 74,
		emoji: '☕',
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

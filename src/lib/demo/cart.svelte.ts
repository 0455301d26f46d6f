import { productBySlug, type Product } from './products';

const KEY = 'demo-shop.cart';

/** The demo shop's cart, kept in localStorage so it survives reloads. */
class Cart {
	#items = $state<Record<string, number>>({});
	#loaded = false;

	/** Reads the stored cart: call from `onMount` (the server renders an empty cart). */
	load() {
		if (this.#loaded || typeof localStorage === 'undefined') return;
		this.#loaded = true;
		try {
			const stored: unknown = JSON.parse(localStorage.getItem(KEY) ?? '{}');
			if (stored && typeof stored === 'object') this.#items = stored as Record<string, number>;
		} catch {
			this.#items = {};
		}
	}

	#save() {
		localStorage.setItem(KEY, JSON.stringify(this.#items));
	}

	get lines(): { product: Product; quantity: number }[] {
		return Object.entries(this.#items).flatMap(([slug, quantity]) => {
			const product = productBySlug(slug);
			return product && quantity > 0 ? [{ product, quantity }] : [];
		});
	}

	get count() {
		return this.lines.reduce((sum, line) => sum + line.quantity, 0);
	}

	get total() {
		return this.lines.reduce((sum, line) => sum + line.quantity * line.product.price, 0);
	}

	add(slug: string) {
		this.load();
		this.#items[slug] = (this.#items[slug] ?? 0) + 1;
		this.#save();
	}

	remove(slug: string) {
		this.load();
		delete this.#items[slug];
		this.#save();
	}
}

export const cart = new Cart();

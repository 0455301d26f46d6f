/**
 * How many presence streams one person and one client address may hold on this node
 * (`STREAM_LIMIT_PER_PERSON`, `STREAM_LIMIT_PER_ADDRESS`). Without it one visitor token could
 * open streams until the node runs out of memory. Per node: a client's streams share a node
 * unless a balancer spreads them, and the cap is about one node's memory.
 */
export class StreamCaps {
	#perPerson: number;
	#perAddress: number;
	#people = new Map<string, number>();
	#addresses = new Map<string, number>();

	constructor(limits: { perPerson: number; perAddress: number }) {
		this.#perPerson = limits.perPerson;
		this.#perAddress = limits.perAddress;
	}

	/** Takes one stream for the person and the address; null when either is at its cap. */
	acquire(personKey: string, address: string): (() => void) | null {
		const person = this.#people.get(personKey) ?? 0;
		const fromAddress = this.#addresses.get(address) ?? 0;
		if (person >= this.#perPerson || fromAddress >= this.#perAddress) return null;
		this.#people.set(personKey, person + 1);
		this.#addresses.set(address, fromAddress + 1);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			decrement(this.#people, personKey);
			decrement(this.#addresses, address);
		};
	}
}

function decrement(counts: Map<string, number>, key: string) {
	const left = (counts.get(key) ?? 1) - 1;
	if (left > 0) counts.set(key, left);
	else counts.delete(key);
}

export const STREAM_CAP_MESSAGE =
	'Too many open presence streams for this person or address: close one first';

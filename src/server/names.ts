/**
 * Visitor names people can tell apart ("Brave Otter"), instead of "Visitor 4821": adjective +
 * animal. The demo seed draws them from a seeded PRNG so every fresh start shows the same
 * people; new visitors draw at random. The avatar's colour is derived from the name (Avatar).
 */

const ADJECTIVES = [
	'Amber',
	'Brave',
	'Calm',
	'Clever',
	'Cosy',
	'Curious',
	'Dapper',
	'Eager',
	'Gentle',
	'Golden',
	'Happy',
	'Honest',
	'Jolly',
	'Kind',
	'Lively',
	'Lucky',
	'Mellow',
	'Merry',
	'Misty',
	'Nimble',
	'Noble',
	'Patient',
	'Plucky',
	'Polite',
	'Quiet',
	'Rapid',
	'Rosy',
	'Rustic',
	'Silver',
	'Sleepy',
	'Snowy',
	'Sunny',
	'Swift',
	'Tidy',
	'Velvet',
	'Witty'
];

const ANIMALS = [
	'Badger',
	'Beaver',
	'Bison',
	'Crane',
	'Deer',
	'Dolphin',
	'Falcon',
	'Ferret',
	'Finch',
	'Fox',
	'Gecko',
	'Hare',
	'Hedgehog',
	'Heron',
	'Ibis',
	'Koala',
	'Lemur',
	'Lynx',
	'Magpie',
	'Marten',
	'Mole',
	'Moose',
	'Newt',
	'Otter',
	'Owl',
	'Panda',
	'Puffin',
	'Quail',
	'Raven',
	'Robin',
	'Seal',
	'Sparrow',
	'Stoat',
	'Swan',
	'Tapir',
	'Walrus',
	'Wombat',
	'Wren',
	'Yak',
	'Zebra'
];

/** A small seeded PRNG (mulberry32): the same seed, the same sequence, on every machine. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export function visitorName(random: () => number = Math.random): string {
	const adjective = ADJECTIVES[Math.floor(random() * ADJECTIVES.length)]!;
	const animal = ANIMALS[Math.floor(random() * ANIMALS.length)]!;
	return `${adjective} ${animal}`;
}

/** `count` different names from `random` (1,440 exist; the seed asks for a few hundred). */
export function distinctVisitorNames(count: number, random: () => number): string[] {
	const names = new Set<string>();
	const max = ADJECTIVES.length * ANIMALS.length;
	while (names.size < Math.min(count, max)) names.add(visitorName(random));
	return [...names];
}

import { act, cleanup, setup } from '@testing-library/svelte';
import { beforeEach } from 'vitest';

// What '@testing-library/svelte/vitest' registers, written out: the components project runs its
// files in one module graph (isolate: false), where an imported setup would register only for
// the first file; this file itself runs before each file.
beforeEach(async () => {
	await setup();
	return async () => {
		await act();
		cleanup();
	};
});

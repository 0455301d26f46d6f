import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeAll, describe, expect, it } from 'vitest';
import VisitorPanel from './VisitorPanel.svelte';

// jsdom has <dialog> but not its modal methods: the smallest stand-in that keeps `open` and `close`.
beforeAll(() => {
	const proto = HTMLDialogElement.prototype;
	proto.showModal ??= function (this: HTMLDialogElement) {
		this.open = true;
	};
	proto.close = function (this: HTMLDialogElement) {
		if (!this.open) return;
		this.open = false;
		this.dispatchEvent(new Event('close'));
	};
});

const page = { url: 'https://shop.test/kettle', title: 'Blue Kettle · Shop' };
const presence = {
	isOnline: true,
	status: 'online' as const,
	lastSeenAt: null,
	currentPage: page,
	version: 1
};
const preview = {
	dataUrl: 'data:image/png;base64,iVBORw0KGgo=',
	at: new Date(Date.now() - 2 * 60_000).toISOString(),
	page
};

describe('VisitorPanel page preview', () => {
	it('opens enlarged with its page and age, closes with the button and gives focus back', async () => {
		render(VisitorPanel, { name: 'Mia Lopez', presence, preview });
		const thumb = screen.getByTestId('visitor-preview-open');
		const dialog = screen.getByTestId('preview-dialog') as HTMLDialogElement;
		expect(dialog.open).toBe(false);

		thumb.focus();
		await fireEvent.click(thumb);
		expect(dialog.open).toBe(true);
		expect(dialog.textContent).toContain('Blue Kettle · Shop');
		expect(dialog.textContent).toContain('https://shop.test/kettle');
		expect(screen.getByTestId('preview-dialog-age').textContent?.replace(/\s+/g, ' ')).toMatch(
			/The page the visitor is on · captured 2 minutes ago/
		);

		await fireEvent.click(screen.getByRole('button', { name: 'Close the preview', hidden: true }));
		expect(dialog.open).toBe(false);
		expect(document.activeElement).toBe(thumb);
	});

	it('says when the preview shows an earlier page than the one the visitor is on', () => {
		render(VisitorPanel, {
			name: 'Mia Lopez',
			presence: { ...presence, currentPage: { url: 'https://shop.test/cart', title: 'Cart' } },
			preview
		});
		expect(screen.getByTestId('preview-dialog-age').textContent?.replace(/\s+/g, ' ')).toMatch(
			/An earlier page/
		);
	});

	it('shows no preview, and no way to open one, while the visitor is offline', () => {
		render(VisitorPanel, {
			name: 'Mia Lopez',
			presence: { ...presence, isOnline: false, status: 'offline' as const, currentPage: null },
			preview
		});
		expect(screen.queryByTestId('visitor-preview-open')).toBeNull();
	});
});

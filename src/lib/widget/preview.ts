/**
 * Page previews for agents (docs/design.md §5): a small picture of what the visitor sees, made in
 * the browser with modern-screenshot, scaled down and compressed until it fits the server's
 * 100 KB bound. The widget itself is left out of the picture.
 */

import { PREVIEW_PAGE_GAP_MS, PREVIEW_SAME_PAGE_MS } from '../contract';

export const MAX_PREVIEW_BYTES = 100 * 1024;

/** What this tab last sent, kept across its page loads so a reload neither repeats nor crowds it. */
interface PreviewMemory {
	/** Page of the last stored preview, and when it was stored (epoch ms). */
	url: string | null;
	storedAt: number;
	/** The last call, stored or not. */
	calledAt: number;
}

const MEMORY_KEY = 'presence.preview';

function readMemory(): PreviewMemory {
	try {
		const raw = sessionStorage.getItem(MEMORY_KEY);
		if (raw) return { url: null, storedAt: 0, calledAt: 0, ...JSON.parse(raw) };
	} catch {
		// Unreadable or unavailable: as if nothing was sent.
	}
	return { url: null, storedAt: 0, calledAt: 0 };
}

function writeMemory(memory: PreviewMemory) {
	try {
		sessionStorage.setItem(MEMORY_KEY, JSON.stringify(memory));
	} catch {
		// Not kept: the server's answers still keep the pace.
	}
}

/**
 * How long to wait before capturing `url`, or null when its preview is fresh already (this tab
 * stored one of it less than `PREVIEW_SAME_PAGE_MS` ago). Calls are spaced by
 * `PREVIEW_PAGE_GAP_MS`, the server's spacing of page changes, so they stay far below its limit.
 */
export function previewWait(url: string, settleMs: number, now = Date.now()): number | null {
	const memory = readMemory();
	if (memory.url === url && now - memory.storedAt < PREVIEW_SAME_PAGE_MS) return null;
	return Math.max(settleMs, memory.calledAt + PREVIEW_PAGE_GAP_MS - now);
}

/** Records a call and its answer. */
export function notePreviewCall(url: string, stored: boolean, now = Date.now()) {
	const memory = readMemory();
	memory.calledAt = now;
	if (stored) [memory.url, memory.storedAt] = [url, now];
	writeMemory(memory);
}

/** Decoded size of a base64 data URL. */
export function dataUrlBytes(dataUrl: string): number {
	const base64 = dataUrl.slice(dataUrl.indexOf(',') + 1);
	const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
	return Math.floor((base64.length * 3) / 4) - padding;
}

/** Captures the visible top of the page as WebP (JPEG where WebP encoding is missing), or null. */
export async function capturePagePreview(
	root: HTMLElement = document.body,
	options: { targetWidth?: number; exclude?: string } = {}
): Promise<string | null> {
	const { domToWebp, domToJpeg } = await import('modern-screenshot');
	const exclude = options.exclude ?? '[data-presence-widget]';
	const width = Math.max(1, root.clientWidth || window.innerWidth);
	const height = Math.max(1, Math.min(root.scrollHeight || window.innerHeight, window.innerHeight));
	let scale = Math.min(1, (options.targetWidth ?? 480) / width);
	const attempts: { quality: number; scaleBy: number }[] = [
		{ quality: 0.7, scaleBy: 1 },
		{ quality: 0.5, scaleBy: 0.75 },
		{ quality: 0.4, scaleBy: 0.6 }
	];
	for (const attempt of attempts) {
		scale *= attempt.scaleBy;
		const common = {
			width,
			height,
			scale,
			quality: attempt.quality,
			backgroundColor: '#ffffff',
			font: false as const,
			timeout: 5000,
			filter: (node: Node) => !(node instanceof Element && node.matches(exclude))
		};
		let dataUrl = await domToWebp(root, common);
		// Browsers without a WebP encoder fall back to PNG: JPEG is much smaller for pages.
		if (!dataUrl.startsWith('data:image/webp')) dataUrl = await domToJpeg(root, common);
		if (dataUrlBytes(dataUrl) <= MAX_PREVIEW_BYTES) return dataUrl;
	}
	return null;
}

/**
 * Page previews for agents (DESIGN section 5): a small picture of what the visitor sees, made in
 * the browser with modern-screenshot, scaled down and compressed until it fits the server's
 * 100 KB bound. The widget itself is left out of the picture.
 */

export const MAX_PREVIEW_BYTES = 100 * 1024;
/** The server accepts one preview per 30 s per visitor. */
export const PREVIEW_INTERVAL_MS = 30_000;

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

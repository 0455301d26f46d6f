/**
 * Page previews from the widget (docs/design.md §5): at most 100 KB, PNG, JPEG or WebP, told by
 * content (magic bytes), never by what the client claims.
 */

export const MAX_PREVIEW_BYTES = 100 * 1024;

export type PreviewType = 'image/png' | 'image/jpeg' | 'image/webp';

export function sniffImageType(bytes: Uint8Array): PreviewType | null {
	const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
	if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
	if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
	if (
		starts(0x52, 0x49, 0x46, 0x46) &&
		bytes.length >= 12 &&
		String.fromCharCode(...bytes.slice(8, 12)) === 'WEBP'
	)
		return 'image/webp';
	return null;
}

/** Accepts a data URL or bare base64; returns the decoded image or a reason for the 400. */
export function parsePreview(
	input: string
): { ok: true; type: PreviewType; bytes: Buffer } | { ok: false; reason: string } {
	const base64 = input.startsWith('data:') ? input.slice(input.indexOf(',') + 1) : input;
	if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64))
		return { ok: false, reason: 'The image is not base64' };
	const bytes = Buffer.from(base64, 'base64');
	if (bytes.length === 0) return { ok: false, reason: 'The image is empty' };
	if (bytes.length > MAX_PREVIEW_BYTES) {
		return {
			ok: false,
			reason: `The image is ${bytes.length} bytes; at most ${MAX_PREVIEW_BYTES} are accepted`
		};
	}
	const type = sniffImageType(bytes);
	if (!type) return { ok: false, reason: 'The image must be PNG, JPEG or WebP' };
	return { ok: true, type, bytes };
}

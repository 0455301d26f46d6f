import { capturePagePreview, notePreviewCall, previewWait } from './preview';
import type { VisitorChat } from './visitor-chat.svelte';

/**
 * The widget's page previews (docs/design.md §5): once per page, after the navigation settles,
 * as soon as the server's spacing allows (`src/lib/contract.ts`); each names the page it shows,
 * so the agent's panel says which page a preview is of.
 */
export class PreviewReporter {
	#chat: () => VisitorChat | null;
	#settleMs: () => number;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#capturing = false;

	/**
	 * `chat` is the widget's current chat (a new one after the token was refused); `settleMs`, how
	 * long after a navigation the page is taken.
	 */
	constructor(chat: () => VisitorChat | null, settleMs: () => number) {
		this.#chat = chat;
		this.#settleMs = settleMs;
	}

	/** Whether a capture is waiting for its turn. */
	get pending() {
		return this.#timer !== null;
	}

	schedule(settleMs = this.#settleMs()) {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		const wait = previewWait(location.href, settleMs);
		if (wait !== null) this.#timer = setTimeout(() => void this.#send(), wait);
	}

	destroy() {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	async #send() {
		this.#timer = null;
		const current = this.#chat();
		if (
			!current?.connection.connectionId ||
			this.#capturing ||
			document.visibilityState === 'hidden'
		)
			return;
		this.#capturing = true;
		const page = { url: location.href, title: document.title };
		let retryAfterMs: number | null = null;
		try {
			const image = await capturePagePreview(document.body);
			// Navigated meanwhile: the picture may mix two pages, and the new page has its own turn.
			if (!image || current !== this.#chat() || location.href !== page.url) return;
			const answer = await current.connection.sendPreview(image, page);
			if (!answer) return;
			notePreviewCall(page.url, answer.stored);
			retryAfterMs = answer.retryAfterMs;
		} catch (error) {
			console.warn('[widget] page preview not sent:', error);
		} finally {
			this.#capturing = false;
		}
		if (this.#timer) return;
		// A navigation while capturing found this busy: its page's turn is now.
		if (location.href !== page.url) this.schedule(0);
		else if (retryAfterMs !== null) this.schedule(retryAfterMs);
	}
}

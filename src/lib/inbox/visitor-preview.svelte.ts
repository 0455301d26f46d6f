import type { PresenceClient } from '../client';

export interface PreviewImage {
	dataUrl: string;
	at: string;
	/** The page it shows (null for a preview stored without one). */
	page: { url: string; title: string } | null;
}

/**
 * The picture of the page a conversation's visitor is on (docs/design.md §5): fetched while they
 * are online and again on each `preview` event, hidden when they go offline.
 */
export class VisitorPreview {
	readonly visitorId: string;
	#client: PresenceClient;
	#image = $state<PreviewImage | null>(null);

	constructor(client: PresenceClient, visitorId: string) {
		this.#client = client;
		this.visitorId = visitorId;
	}

	get image() {
		return this.#image;
	}

	async load() {
		try {
			this.#image = await this.#client.presence.previewImage.query({ userId: this.visitorId });
		} catch {
			// No preview is shown; the next `preview` event tries again.
		}
	}

	clear() {
		this.#image = null;
	}
}

import type { CurrentPage } from '../contract';
import { ReportFlush } from './report-flush';

/** The report calls on one live connection; each rejects when the server refused it. */
export interface ReportCalls {
	page(connectionId: string, page: CurrentPage): Promise<unknown>;
	focus(connectionId: string, conversationId: string | null): Promise<unknown>;
	/** A call failed: the owner decides (e.g. a NOT_FOUND connection starts a fresh stream). */
	failed(error: unknown, connectionId: string): void;
}

/**
 * What this tab wants others to see (its focus and page), kept as wishes and sent to every new
 * connection, so a reconnect restores what others see (docs/design.md §2, grace).
 */
export class PresenceReports {
	#connectionId: () => string | null;
	#calls: ReportCalls;
	#flush = new ReportFlush(() => this.#round());
	#focus: string | null = null;
	#page: CurrentPage | null = null;
	/**
	 * What the live connection was told. `focus` is undefined until told anything: a new connection
	 * may have inherited the focus of the tab this one replaced (a reload), so "no focus" must be
	 * said too, with the first report.
	 */
	#sent: { connectionId: string | null; focus: string | null | undefined; page: string | null } = {
		connectionId: null,
		focus: undefined,
		page: null
	};

	constructor(connectionId: () => string | null, calls: ReportCalls) {
		this.#connectionId = connectionId;
		this.#calls = calls;
	}

	setFocus(conversationId: string | null) {
		this.#focus = conversationId;
		this.#flush.queue();
	}

	setPage(page: CurrentPage | null) {
		this.#page = page;
		this.#flush.queue();
	}

	/** Sends what the live connection was not told yet (after `ready`, a new one: everything). */
	flush() {
		this.#flush.queue();
	}

	async #round() {
		const connectionId = this.#connectionId();
		if (!connectionId) return;
		if (this.#sent.connectionId !== connectionId) {
			this.#sent = { connectionId, focus: undefined, page: null };
		}
		const sent = this.#sent;
		const calls: Promise<unknown>[] = [];
		const page = this.#page;
		const pageKey = page ? `${page.url}\n${page.title}` : null;
		if (page && pageKey !== sent.page) {
			sent.page = pageKey;
			calls.push(
				this.#calls.page(connectionId, page).catch((error) => {
					if (sent === this.#sent && sent.page === pageKey) sent.page = null;
					this.#calls.failed(error, connectionId);
				})
			);
		}
		const focus = this.#focus;
		if (focus !== sent.focus) {
			sent.focus = focus;
			calls.push(
				this.#calls.focus(connectionId, focus).catch((error) => {
					if (sent === this.#sent && sent.focus === focus) sent.focus = undefined;
					this.#calls.failed(error, connectionId);
				})
			);
		}
		await Promise.all(calls);
	}
}

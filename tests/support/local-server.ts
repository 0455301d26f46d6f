import { createTRPCClient, localLink } from '@trpc/client';
import { initTRPC, TRPCError, tracked } from '@trpc/server';
import type { Participant, ChatMessage, StreamEvent } from '../../src/lib/contract';
import type { PresenceClient } from '../../src/lib/client';

/** One `presence.connect` the client opened: the test speaks for the server on it. */
export class LocalStream {
	#queue: (StreamEvent | 'end')[] = [];
	#wake: (() => void) | null = null;
	#signal: AbortSignal | undefined;

	constructor(signal: AbortSignal | undefined) {
		this.#signal = signal;
	}

	/** True once the client let go of the stream (tRPC aborts the call at once). */
	get unsubscribed() {
		return this.#signal?.aborted ?? false;
	}

	send(event: StreamEvent) {
		this.#queue.push(event);
		this.#wake?.();
	}

	/** The server ends the stream (overflow, expiry, shutdown). */
	end() {
		this.#queue.push('end');
		this.#wake?.();
	}

	async *events(): AsyncGenerator<StreamEvent> {
		while (!this.unsubscribed) {
			const next = this.#queue.shift();
			if (next === 'end') return;
			if (next) {
				yield next;
				continue;
			}
			await new Promise<void>((resolve) => {
				this.#wake = resolve;
				this.#signal?.addEventListener('abort', () => resolve(), { once: true });
			});
			this.#wake = null;
		}
	}
}

/** What the server holds of one conversation, for `messages.*` and `conversations.participants`. */
export interface LocalConversation {
	messages: ChatMessage[];
	participants: Participant[];
	/** Who `messages.send` says each new message was pushed to. */
	deliverTo: string[];
}

/**
 * A small real tRPC router with the app's procedure names and shapes, called by the stock tRPC
 * client over `localLink` (no HTTP). The test drives the presence stream, sees every call and
 * can make a procedure fail with the error the real server would throw.
 */
export function localServer() {
	const t = initTRPC.create();
	const calls: { path: string; input: unknown }[] = [];
	const failures = new Map<string, Error>();
	const streams: LocalStream[] = [];
	const conversations = new Map<string, LocalConversation>();
	let refusal: TRPCError | null = null;
	let nextId = 0;

	const seen = (path: string, input: unknown) => {
		calls.push({ path, input });
		const failure = failures.get(path);
		if (failure) throw failure;
	};
	const conversation = (id: string) => {
		const found = conversations.get(id);
		if (!found) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such conversation' });
		return found;
	};
	const input =
		<T>() =>
		(value: unknown) =>
			value as T;
	const report = <T>(path: string) =>
		t.procedure.input(input<T>()).mutation(({ input }) => {
			seen(path, input);
			return { ok: true as const };
		});

	const router = t.router({
		presence: t.router({
			connect: t.procedure.subscription(async function* ({ signal }) {
				const stream = new LocalStream(signal);
				streams.push(stream);
				if (refusal) throw refusal;
				for await (const event of stream.events()) yield tracked(String(++nextId), event);
			}),
			heartbeat: report<{ connectionId: string }>('heartbeat'),
			focus: report<{ connectionId: string; conversationId: string | null }>('focus'),
			page: report<{ connectionId: string; url: string; title: string }>('page'),
			idle: report<{ connectionId: string; idle: boolean }>('idle'),
			preview: t.procedure
				.input(input<{ connectionId: string; image: string }>())
				.mutation(({ input }) => {
					seen('preview', input);
					return { stored: true, retryAfterMs: null };
				}),
			typing: t.procedure
				.input(input<{ connectionId: string; conversationId: string }>())
				.mutation(({ input }) => {
					seen('typing', input);
					return { ok: true as const, ttlMs: 6000 };
				})
		}),
		messages: t.router({
			list: t.procedure
				.input(input<{ conversationId: string; cursor?: string }>())
				.query(({ input }) => {
					seen('messages.list', input);
					const { messages } = conversation(input.conversationId);
					// Newest first, one page of 50, like the app's.
					const end = input.cursor ? Number(input.cursor) : messages.length;
					const start = Math.max(0, end - 50);
					return {
						messages: messages.slice(start, end).toReversed(),
						nextCursor: start > 0 ? String(start) : null
					};
				}),
			send: t.procedure
				.input(input<{ conversationId: string; body: string }>())
				.mutation(({ input }) => {
					seen('messages.send', input);
					const held = conversation(input.conversationId);
					const message: ChatMessage = {
						id: `m${++nextId}`,
						conversationId: input.conversationId,
						senderId: 'caller',
						senderName: 'Caller',
						body: input.body,
						createdAt: new Date().toISOString()
					};
					held.messages.push(message);
					return { message, deliveredTo: held.deliverTo };
				}),
			markRead: report<{ conversationId: string }>('messages.markRead')
		}),
		conversations: t.router({
			participants: t.procedure.input(input<{ conversationId: string }>()).query(({ input }) => {
				seen('conversations.participants', input);
				return conversation(input.conversationId).participants;
			})
		}),
		widget: t.router({
			startConversation: t.procedure.mutation(() => {
				seen('widget.startConversation', undefined);
				const conversationId = `k${++nextId}`;
				conversations.set(conversationId, { messages: [], participants: [], deliverTo: [] });
				return { conversationId };
			})
		})
	});

	const client = createTRPCClient<typeof router>({
		links: [localLink({ router, createContext: async () => ({}) })]
	});

	return {
		/**
		 * The stock client over this router. Typed as the app's client: the router has the
		 * procedures the browser code under test calls, with the app's names and shapes.
		 */
		client: client as unknown as PresenceClient,
		calls,
		/** Makes a procedure (by its path in `calls`) throw until deleted. */
		failures,
		streams,
		conversations,
		/** Every new stream is refused with this error (e.g. UNAUTHORIZED), or accepted (null). */
		refuse(error: TRPCError | null) {
			refusal = error;
		},
		/** Sends on the newest stream. */
		send(event: StreamEvent, stream = streams.at(-1)!) {
			stream.send(event);
		},
		ready(
			connectionId: string,
			snapshot: Extract<StreamEvent, { type: 'ready' }>['snapshot'] = []
		) {
			this.send({ type: 'ready', connectionId, snapshot, heartbeatIntervalMs: 1000 });
		}
	};
}

export type LocalServer = ReturnType<typeof localServer>;

import { TRPCClientError } from '@trpc/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PresenceClient } from '../client';
import type { PresenceUpdate, StreamEvent } from '../events';
import { PresenceConnection, PresenceStore } from './presence.svelte';

function update(userId: string, patch: Partial<PresenceUpdate> = {}): PresenceUpdate {
	return {
		userId,
		isOnline: true,
		status: 'active',
		focusConversationId: null,
		lastSeenAt: '2024-05-01T10:00:00.000Z',
		currentPage: null,
		version: 1,
		...patch
	};
}

describe('PresenceStore', () => {
	it('answers unknown for a person it was never told about', () => {
		const store = new PresenceStore();
		expect(store.status('nobody')).toBe('unknown');
		expect(store.get('nobody')).toBeUndefined();
		store.applySnapshot([update('ada')]);
		expect(store.status('nobody')).toBe('unknown');
	});

	it('takes a snapshot, then newer deltas', () => {
		const store = new PresenceStore();
		store.applySnapshot([
			update('ada', { status: 'online', version: 3 }),
			update('bob', { isOnline: false, status: 'offline', version: 7 })
		]);
		expect(store.synced).toBe(true);
		expect(store.status('ada')).toBe('online');
		expect(store.status('bob')).toBe('offline');

		expect(store.apply({ ...update('bob', { status: 'active', version: 8 }) })).toBe(true);
		expect(store.status('bob')).toBe('active');
		expect(store.get('bob')?.isOnline).toBe(true);
	});

	it('drops a delta whose version is not newer than the one held', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { status: 'online', version: 5 })]);
		expect(store.apply(update('ada', { isOnline: false, status: 'offline', version: 4 }))).toBe(
			false
		);
		expect(store.apply(update('ada', { isOnline: false, status: 'offline', version: 5 }))).toBe(
			false
		);
		expect(store.status('ada')).toBe('online');
	});

	it('replaces everything with a new snapshot (people no longer visible are forgotten)', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { version: 9 }), update('bob')]);
		// Same version, another status (the viewer joined a conversation): the snapshot wins.
		store.applySnapshot([update('ada', { status: 'online', version: 9 })]);
		expect(store.status('ada')).toBe('online');
		expect(store.status('bob')).toBe('unknown');
	});

	it('does not step back to an older snapshot entry (Redis just lost its data: version 0)', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { status: 'online', version: 9 })]);
		store.applySnapshot([update('ada', { status: 'offline', isOnline: false, version: 0 })]);
		expect(store.status('ada')).toBe('online');
		// The truth then arrives as a newer delta.
		store.apply(update('ada', { status: 'offline', isOnline: false, version: 10 }));
		expect(store.status('ada')).toBe('offline');
	});

	it('prefers the newer of held and loaded data', () => {
		const store = new PresenceStore();
		const loaded = update('ada', { status: 'offline', isOnline: false, version: 4 });
		expect(store.view('ada', loaded)?.status).toBe('offline');
		store.apply(update('ada', { status: 'online', version: 5 }));
		expect(store.view('ada', loaded)?.status).toBe('online');
		expect(store.view('ada', { ...loaded, version: 6 })?.status).toBe('offline');
		expect(store.view('nobody')).toBeNull();
	});
});

/** A fake tRPC client: the test drives the stream's callbacks and sees each call. */
function fakeClient() {
	type Callbacks = {
		onData: (value: { id: string; data: StreamEvent }) => void;
		onError: (error: unknown) => void;
		onComplete: () => void;
	};
	const streams: { callbacks: Callbacks; unsubscribed: boolean }[] = [];
	const calls: { path: string; input: unknown }[] = [];
	const failures = new Map<string, unknown>();
	const mutation = (path: string) => ({
		mutate: vi.fn(async (input: unknown) => {
			calls.push({ path, input });
			const failure = failures.get(path);
			if (failure) throw failure;
			return { ok: true };
		})
	});
	const client = {
		presence: {
			connect: {
				subscribe: (_input: unknown, callbacks: Callbacks) => {
					const stream = { callbacks, unsubscribed: false };
					streams.push(stream);
					return { unsubscribe: () => (stream.unsubscribed = true) };
				}
			},
			heartbeat: mutation('heartbeat'),
			focus: mutation('focus'),
			page: mutation('page'),
			preview: mutation('preview'),
			typing: {
				mutate: async (input: unknown) => {
					calls.push({ path: 'typing', input });
					return { ok: true, ttlMs: 6000 };
				}
			},
			idle: mutation('idle')
		}
	};
	const send = (event: StreamEvent, stream = streams.at(-1)!) =>
		stream.callbacks.onData({ id: 'x', data: event });
	const ready = (connectionId: string, snapshot: PresenceUpdate[] = []) =>
		send({ type: 'ready', connectionId, snapshot, heartbeatIntervalMs: 1000 });
	return { client: client as unknown as PresenceClient, streams, calls, failures, send, ready };
}

function notFound() {
	return new TRPCClientError('This connection expired', {
		result: { error: { code: -32004, message: 'expired', data: { code: 'NOT_FOUND' } } }
	});
}

describe('PresenceConnection', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('fills the store from ready, applies deltas and passes other events on', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		const messages: string[] = [];
		connection.on('message', (e) => messages.push(e.message.body));
		connection.start();
		expect(connection.connected).toBe(false);

		fake.ready('c1', [update('ada', { version: 1 })]);
		expect(connection.connected).toBe(true);
		expect(connection.connectionId).toBe('c1');
		expect(connection.store.status('ada')).toBe('active');

		fake.send({ type: 'presence', ...update('ada', { status: 'online', version: 2 }) });
		expect(connection.store.status('ada')).toBe('online');
		fake.send({
			type: 'message',
			conversationId: 'k',
			message: {
				id: 'm1',
				conversationId: 'k',
				senderId: 'ada',
				senderName: 'Ada',
				body: 'Hello',
				createdAt: '2024-05-01T10:00:00.000Z'
			}
		});
		expect(messages).toEqual(['Hello']);
		connection.destroy();
	});

	it('heartbeats at the interval the server asks for, and stops on destroy', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		fake.ready('c1');
		await vi.advanceTimersByTimeAsync(3100);
		expect(fake.calls.filter((c) => c.path === 'heartbeat')).toHaveLength(3);
		expect(fake.calls.find((c) => c.path === 'heartbeat')).toEqual({
			path: 'heartbeat',
			input: { connectionId: 'c1' }
		});
		connection.destroy();
		expect(fake.streams[0]!.unsubscribed).toBe(true);
		await vi.advanceTimersByTimeAsync(5000);
		expect(fake.calls.filter((c) => c.path === 'heartbeat')).toHaveLength(3);
	});

	it('resubscribes with a backoff when the server ends the stream', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client, { backoffMs: 200 });
		connection.start();
		fake.ready('c1');
		fake.streams[0]!.callbacks.onComplete();
		expect(connection.connected).toBe(false);
		expect(connection.connectionId).toBeNull();
		expect(fake.streams).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(250);
		expect(fake.streams).toHaveLength(2);
		fake.ready('c2');
		expect(connection.connectionId).toBe('c2');
		connection.destroy();
	});

	it('starts a fresh stream when a heartbeat says the connection is gone', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		fake.ready('c1');
		fake.failures.set('heartbeat', notFound());
		await vi.advanceTimersByTimeAsync(1050);
		expect(fake.streams[0]!.unsubscribed).toBe(true);
		await vi.advanceTimersByTimeAsync(10);
		expect(fake.streams).toHaveLength(2);
		connection.destroy();
	});

	it('sends focus and page once connected, and again on every new connection', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client, { backoffMs: 10 });
		connection.setFocus('conv-1');
		connection.setPage({ url: 'https://shop.test/a', title: 'A' });
		connection.start();
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([]);

		fake.ready('c1');
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([
			{ path: 'page', input: { connectionId: 'c1', url: 'https://shop.test/a', title: 'A' } },
			{ path: 'focus', input: { connectionId: 'c1', conversationId: 'conv-1' } }
		]);

		// A blur then a focus in the same tick (switching conversations) is one call.
		fake.calls.length = 0;
		connection.setFocus(null);
		connection.setFocus('conv-2');
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([
			{ path: 'focus', input: { connectionId: 'c1', conversationId: 'conv-2' } }
		]);

		fake.calls.length = 0;
		fake.streams[0]!.callbacks.onComplete();
		await vi.advanceTimersByTimeAsync(20);
		fake.ready('c2');
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([
			{ path: 'page', input: { connectionId: 'c2', url: 'https://shop.test/a', title: 'A' } },
			{ path: 'focus', input: { connectionId: 'c2', conversationId: 'conv-2' } }
		]);
		connection.destroy();
	});

	it('tells every new connection "no focus" too: it may have inherited the reloaded tab\'s', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client, { backoffMs: 10 });
		connection.start();
		fake.ready('c1');
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([
			{ path: 'focus', input: { connectionId: 'c1', conversationId: null } }
		]);

		// Nothing changed on this connection: nothing more is sent.
		fake.calls.length = 0;
		connection.setFocus(null);
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([]);

		// A failed report is tried again with the next flush, null included.
		fake.failures.set('focus', new Error('network'));
		fake.streams[0]!.callbacks.onComplete();
		await vi.advanceTimersByTimeAsync(20);
		fake.ready('c2');
		await vi.advanceTimersByTimeAsync(0);
		fake.failures.delete('focus');
		fake.calls.length = 0;
		connection.setFocus(null);
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([
			{ path: 'focus', input: { connectionId: 'c2', conversationId: null } }
		]);
		connection.destroy();
	});

	it('gives up and tells the owner when the stream is refused as unauthorized', async () => {
		const fake = fakeClient();
		const onUnauthorized = vi.fn();
		const connection = new PresenceConnection(fake.client, { onUnauthorized, backoffMs: 10 });
		connection.start();
		fake.streams[0]!.callbacks.onError(
			new TRPCClientError('no', {
				result: { error: { code: -32001, message: 'no', data: { code: 'UNAUTHORIZED' } } }
			})
		);
		await vi.advanceTimersByTimeAsync(100);
		expect(onUnauthorized).toHaveBeenCalledOnce();
		expect(fake.streams).toHaveLength(1);
		connection.destroy();
	});
});

describe('PresenceConnection: typing, idle, availability and the team (issue 13)', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('keeps an agent’s last known availability when a change comes without it', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { availability: 'busy', version: 1 })]);
		store.apply(update('ada', { availability: null, version: 2 }));
		expect(store.get('ada')?.availability).toBe('busy');
		store.apply(update('ada', { availability: 'away', version: 3 }));
		expect(store.get('ada')?.availability).toBe('away');
	});

	it('follows the team status from ready and team events', () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		expect(connection.teamOnline).toBeNull();
		fake.send({
			type: 'ready',
			connectionId: 'c1',
			snapshot: [],
			heartbeatIntervalMs: 1000,
			teamOnline: false
		});
		expect(connection.teamOnline).toBe(false);
		fake.send({ type: 'team', online: true });
		expect(connection.teamOnline).toBe(true);
		connection.destroy();
	});

	it('reports typing at most once per TTL/3, and again at once after a send', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		fake.ready('c1');
		const typed = () => fake.calls.filter((c) => c.path === 'typing').length;
		connection.reportTyping('k');
		await vi.advanceTimersByTimeAsync(10);
		connection.reportTyping('k');
		connection.reportTyping('k');
		expect(typed()).toBe(1);
		await vi.advanceTimersByTimeAsync(2000);
		connection.reportTyping('k');
		expect(typed()).toBe(2);
		connection.sentMessage('k');
		connection.reportTyping('k');
		expect(typed()).toBe(3);
		// A send waits for the report in flight, so the report cannot land after the message.
		await connection.settleTyping('k');
		await connection.settleTyping('nothing-in-flight');
		connection.destroy();
	});

	it('reports idle after the server’s idle time without input, and active on the next input', async () => {
		const fake = fakeClient();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		fake.send({
			type: 'ready',
			connectionId: 'c1',
			snapshot: [],
			heartbeatIntervalMs: 60_000,
			idleAfterMs: 5000
		});
		const idleCalls = () => fake.calls.filter((c) => c.path === 'idle').map((c) => c.input);
		await vi.advanceTimersByTimeAsync(4000);
		window.dispatchEvent(new KeyboardEvent('keydown'));
		await vi.advanceTimersByTimeAsync(4000);
		expect(idleCalls()).toEqual([]);
		await vi.advanceTimersByTimeAsync(1500);
		expect(connection.idle).toBe(true);
		expect(idleCalls()).toEqual([{ connectionId: 'c1', idle: true }]);
		window.dispatchEvent(new PointerEvent('pointerdown'));
		expect(connection.idle).toBe(false);
		expect(idleCalls()).toEqual([
			{ connectionId: 'c1', idle: true },
			{ connectionId: 'c1', idle: false }
		]);
		connection.destroy();
	});
});

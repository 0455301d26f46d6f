import { TRPCError } from '@trpc/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { localServer } from '../../../tests/support/local-server';
import { presenceUpdate as update } from '../../../tests/support/presence-update';
import { PresenceConnection, type PresenceConnectionOptions } from './presence-connection.svelte';

/** Lets the stream's events and the calls' answers travel through the tRPC client. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** A connection over a fresh local server, started and live as connection `c1`. */
async function live(options?: PresenceConnectionOptions) {
	const fake = localServer();
	const connection = new PresenceConnection(fake.client, options);
	connection.start();
	await settle();
	fake.ready('c1');
	await settle();
	return { fake, connection };
}

function notFound() {
	return new TRPCError({ code: 'NOT_FOUND', message: 'This connection expired' });
}

describe('PresenceConnection', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('fills the store from ready, applies deltas and passes other events on', async () => {
		const fake = localServer();
		const connection = new PresenceConnection(fake.client);
		const messages: string[] = [];
		connection.on('message', (e) => messages.push(e.message.body));
		connection.start();
		await settle();
		expect(connection.connected).toBe(false);

		fake.ready('c1', [update('ada', { version: 1 })]);
		await settle();
		expect(connection.connected).toBe(true);
		expect(connection.connectionId).toBe('c1');
		expect(connection.store.status('ada')).toBe('active');

		fake.send({ type: 'presence', ...update('ada', { status: 'online', version: 2 }) });
		await settle();
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
		await settle();
		expect(messages).toEqual(['Hello']);
		connection.destroy();
	});

	it('heartbeats at the interval the server asks for, and stops on destroy', async () => {
		const { fake, connection } = await live();
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
		const { fake, connection } = await live({ backoffMs: 200 });
		fake.streams[0]!.end();
		await settle();
		expect(connection.connected).toBe(false);
		expect(connection.connectionId).toBeNull();
		expect(fake.streams).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(250);
		expect(fake.streams).toHaveLength(2);
		fake.ready('c2');
		await settle();
		expect(connection.connectionId).toBe('c2');
		connection.destroy();
	});

	it('starts a fresh stream when a heartbeat says the connection is gone', async () => {
		const { fake, connection } = await live();
		fake.failures.set('heartbeat', notFound());
		await vi.advanceTimersByTimeAsync(1050);
		expect(fake.streams[0]!.unsubscribed).toBe(true);
		await vi.advanceTimersByTimeAsync(10);
		expect(fake.streams).toHaveLength(2);
		connection.destroy();
	});

	it('sends focus and page once connected, and again on every new connection', async () => {
		const fake = localServer();
		const connection = new PresenceConnection(fake.client, { backoffMs: 10 });
		connection.setFocus('conv-1');
		connection.setPage({ url: 'https://shop.test/a', title: 'A' });
		connection.start();
		await settle();
		expect(fake.calls).toEqual([]);

		fake.ready('c1');
		await settle();
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
		fake.streams[0]!.end();
		await vi.advanceTimersByTimeAsync(20);
		fake.ready('c2');
		await settle();
		expect(fake.calls).toEqual([
			{ path: 'page', input: { connectionId: 'c2', url: 'https://shop.test/a', title: 'A' } },
			{ path: 'focus', input: { connectionId: 'c2', conversationId: 'conv-2' } }
		]);
		connection.destroy();
	});

	it('tells every new connection "no focus" too: it may have inherited the reloaded tab\'s', async () => {
		const { fake, connection } = await live({ backoffMs: 10 });
		expect(fake.calls).toEqual([
			{ path: 'focus', input: { connectionId: 'c1', conversationId: null } }
		]);

		// Nothing changed on this connection: nothing more is sent.
		fake.calls.length = 0;
		connection.setFocus(null);
		await vi.advanceTimersByTimeAsync(0);
		expect(fake.calls).toEqual([]);

		// A failed report is tried again with the next flush, null included.
		fake.failures.set('focus', new TRPCError({ code: 'SERVICE_UNAVAILABLE' }));
		fake.streams[0]!.end();
		await vi.advanceTimersByTimeAsync(20);
		fake.ready('c2');
		await settle();
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
		const fake = localServer();
		const onUnauthorized = vi.fn();
		const connection = new PresenceConnection(fake.client, { onUnauthorized, backoffMs: 10 });
		fake.refuse(new TRPCError({ code: 'UNAUTHORIZED', message: 'no' }));
		connection.start();
		await vi.advanceTimersByTimeAsync(100);
		expect(onUnauthorized).toHaveBeenCalledOnce();
		expect(fake.streams).toHaveLength(1);
		connection.destroy();
	});
});

describe('PresenceConnection: typing, idle, availability and the team (issue 13)', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('follows the team status from ready and team events', async () => {
		const fake = localServer();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		await settle();
		expect(connection.teamOnline).toBeNull();
		fake.send({
			type: 'ready',
			connectionId: 'c1',
			snapshot: [],
			heartbeatIntervalMs: 1000,
			teamOnline: false
		});
		await settle();
		expect(connection.teamOnline).toBe(false);
		fake.send({ type: 'team', online: true });
		await settle();
		expect(connection.teamOnline).toBe(true);
		connection.destroy();
	});

	it('reports typing at most once per TTL/3, and again at once after a send', async () => {
		const { fake, connection } = await live();
		const typed = () => fake.calls.filter((c) => c.path === 'typing').length;
		connection.reportTyping('k');
		await vi.advanceTimersByTimeAsync(10);
		connection.reportTyping('k');
		connection.reportTyping('k');
		expect(typed()).toBe(1);
		await vi.advanceTimersByTimeAsync(2000);
		connection.reportTyping('k');
		await settle();
		expect(typed()).toBe(2);
		connection.sentMessage('k');
		connection.reportTyping('k');
		await settle();
		expect(typed()).toBe(3);
		// A send waits for the report in flight, so the report cannot land after the message.
		await connection.settleTyping('k');
		await connection.settleTyping('nothing-in-flight');
		connection.destroy();
	});

	it('reports idle after the server’s idle time without input, and active on the next input', async () => {
		const fake = localServer();
		const connection = new PresenceConnection(fake.client);
		connection.start();
		await settle();
		fake.send({
			type: 'ready',
			connectionId: 'c1',
			snapshot: [],
			heartbeatIntervalMs: 60_000,
			idleAfterMs: 5000
		});
		await settle();
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
		await settle();
		expect(idleCalls()).toEqual([
			{ connectionId: 'c1', idle: true },
			{ connectionId: 'c1', idle: false }
		]);
		connection.destroy();
	});
});

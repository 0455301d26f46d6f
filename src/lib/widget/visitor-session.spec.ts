import { TRPCClientError } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import type { PresenceClient } from '../client';
import { startVisitorSession, type TokenStorage } from './visitor-session';

function memoryStorage(initial: string | null): TokenStorage & { value: string | null } {
	return {
		value: initial,
		get() {
			return this.value;
		},
		set(token) {
			this.value = token;
		},
		clear() {
			this.value = null;
		}
	};
}

function sessionClient(impl: (input: { workspaceKey: string; visitorToken?: string }) => unknown) {
	const mutate = vi.fn(async (input: { workspaceKey: string; visitorToken?: string }) =>
		impl(input)
	);
	return { client: { widget: { session: { mutate } } } as unknown as PresenceClient, mutate };
}

const session = (token: string) => ({
	visitorToken: token,
	visitorId: 'v1',
	conversationId: 'c1',
	displayName: 'Visitor 1234'
});

describe('startVisitorSession', () => {
	it('resumes with the stored token and keeps the renewed one', async () => {
		const storage = memoryStorage('old-token');
		const { client, mutate } = sessionClient(() => session('renewed'));
		const result = await startVisitorSession('demo', storage, client);
		expect(mutate).toHaveBeenCalledWith({ workspaceKey: 'demo', visitorToken: 'old-token' });
		expect(result.conversationId).toBe('c1');
		expect(storage.value).toBe('renewed');
	});

	it('drops a refused token and starts a new visitor', async () => {
		const storage = memoryStorage('tampered');
		const { client, mutate } = sessionClient((input) => {
			if (input.visitorToken) {
				throw new TRPCClientError('Invalid or expired visitor token', {
					result: { error: { code: -32001, message: 'no', data: { code: 'UNAUTHORIZED' } } }
				});
			}
			return session('fresh');
		});
		await startVisitorSession('demo', storage, client);
		expect(mutate).toHaveBeenLastCalledWith({ workspaceKey: 'demo' });
		expect(storage.value).toBe('fresh');
	});

	it('keeps the token when the failure is not about it', async () => {
		const storage = memoryStorage('good');
		const { client } = sessionClient(() => {
			throw new Error('network down');
		});
		await expect(startVisitorSession('demo', storage, client)).rejects.toThrow('network down');
		expect(storage.value).toBe('good');
	});
});

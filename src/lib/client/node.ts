import { EventSource } from 'eventsource';
import { SESSION_COOKIE } from '../contract';
import { createClient as createBaseClient, type ClientAuth, type PresenceClient } from './index';

/**
 * The client for Node: the same `createClient({ url, auth })`, with the EventSource of the
 * `eventsource` package (Node 20 has none). `loginAgent` signs an agent in and returns the
 * session cookie to pass as `{ agentCookie }`.
 */

export * from './index';

export function createClient(options: { url: string; auth: ClientAuth }): PresenceClient {
	return createBaseClient({ ...options, EventSource });
}

export async function loginAgent(url: string, email: string, password: string): Promise<string> {
	const response = await fetch(`${url.replace(/\/$/, '')}/auth.login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password })
	});
	if (!response.ok) throw new Error(`Login failed for ${email}: HTTP ${response.status}`);
	const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
	if (!cookie) throw new Error('Login answered without a session cookie');
	return cookie.split(';')[0]!;
}

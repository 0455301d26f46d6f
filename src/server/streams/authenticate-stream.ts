import type { IncomingMessage } from 'node:http';
import { TRPCError } from '@trpc/server';
import { parseConnectionParamsFromString } from '@trpc/server/unstable-core-do-not-import';
import { SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../lib/contract';
import { readCookie } from '../auth/cookies';
import { createContextInner } from '../context';
import type { Services } from '../services';
import { NO_PERSON, personOf, type Identity } from '../trpc';
import { lastEventIdOf } from './sse';
import { connectInput } from './viewer-scope';

/**
 * Who opens a hub stream, and from which event id they resume: the session cookie, or the
 * visitor's token (header or `connectionParams`), and `presence.connect`'s input checked as tRPC
 * checks it. Throws the `TRPCError` tRPC itself would send.
 */
export async function authenticateStream(
	services: Services,
	req: IncomingMessage
): Promise<{ identity: Identity; lastEventId: string | null }> {
	const url = new URL(req.url ?? '/', 'http://hub.invalid');
	const params = url.searchParams.get('connectionParams');
	const connectionParams = params ? parseConnectionParamsFromString(params) : null;
	let sessionToken: string | null = null;
	try {
		sessionToken = readCookie(req.headers.cookie, SESSION_COOKIE);
	} catch {
		// A malformed cookie is no session.
	}
	const header = req.headers[VISITOR_TOKEN_HEADER];
	const ctx = createContextInner({
		services,
		sessionToken,
		visitorToken: (Array.isArray(header) ? header[0] : header) ?? connectionParams?.visitorToken
	});
	const identity = await personOf(ctx);
	if (!identity) throw NO_PERSON();

	// As tRPC does: the resume id from the header or query joins the input, then it is checked.
	let input: unknown = undefined;
	const rawInput = url.searchParams.get('input');
	if (rawInput) {
		try {
			input = JSON.parse(rawInput);
		} catch (cause) {
			throw new TRPCError({ code: 'PARSE_ERROR', message: 'Not JSON-parsable input', cause });
		}
	}
	const fromHeader = lastEventIdOf(req.headers, url.searchParams);
	if (fromHeader) {
		input =
			input && typeof input === 'object'
				? { ...input, lastEventId: fromHeader }
				: (input ?? { lastEventId: fromHeader });
	}
	// Most opens carry no input at all: that needs no schema (a visitor coming online waits).
	if (input === undefined) return { identity, lastEventId: null };
	const parsed = connectInput.safeParse(input);
	if (!parsed.success) {
		throw new TRPCError({
			code: 'BAD_REQUEST',
			message: parsed.error.message,
			cause: parsed.error
		});
	}
	return { identity, lastEventId: parsed.data?.lastEventId ?? null };
}

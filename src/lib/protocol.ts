/** Names shared by the server and every client: part of the public contract. */

/** The agent session cookie (HttpOnly, SameSite=Lax, signed). */
export const SESSION_COOKIE = 'presence_session';

/**
 * Page previews (README: choices): a fresh page gets its capture as soon as the last one is
 * `PREVIEW_PAGE_GAP_MS` old; the same page again only after `PREVIEW_SAME_PAGE_MS`. Earlier
 * captures are answered `stored: false` with when to try again, not refused: a reload must not
 * log errors. Past `preview` in the rate limits (a client ignoring the answers) it is a 429.
 */
export const PREVIEW_SAME_PAGE_MS = 30_000;
export const PREVIEW_PAGE_GAP_MS = 5_000;

/** The visitor token on queries and mutations; on SSE it is the `visitorToken` connection param. */
export const VISITOR_TOKEN_HEADER = 'x-visitor-token';

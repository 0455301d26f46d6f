/** Names shared by the server and every client: part of the public contract. */

/** The agent session cookie (HttpOnly, SameSite=Lax, signed). */
export const SESSION_COOKIE = 'presence_session';

/** The visitor token on queries and mutations; on SSE it is the `visitorToken` connection param. */
export const VISITOR_TOKEN_HEADER = 'x-visitor-token';

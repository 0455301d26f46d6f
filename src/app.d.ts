// See https://svelte.dev/docs/kit/types#app.d.ts
import type { Identity } from '$server/trpc';

declare global {
	namespace App {
		interface Locals {
			/** The signed-in agent, from the session cookie; null when there is none or it is invalid. */
			agent: Identity | null;
			/** This request's id in logs and the `x-request-id` response header (the caller's, if sent). */
			requestId: string;
		}
	}
}

export {};

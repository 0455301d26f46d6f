import { getContext, setContext } from 'svelte';
import type { AgentProfile } from '$lib/contract';
import type { InboxState } from './inbox.svelte';

const KEY = Symbol('inbox');

export interface InboxContext {
	readonly me: AgentProfile;
	readonly inbox: InboxState;
}

export function setInboxContext(context: InboxContext) {
	setContext(KEY, context);
}

export function getInboxContext(): InboxContext {
	const context = getContext<InboxContext | undefined>(KEY);
	if (!context) throw new Error('No inbox context: render this inside the inbox layout');
	return context;
}

import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './client';

/** Shapes of what the procedures return, for the pages that keep and patch them. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export type ConversationSummary = RouterOutputs['conversations']['list'][number];
export type OnlineVisitor = RouterOutputs['visitors']['online'][number];
export type Participant = RouterOutputs['conversations']['participants'][number];
export type AgentProfile = RouterOutputs['auth']['me'];
export type { ChatMessage } from './events';

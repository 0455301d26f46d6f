/** Moved to `src/lib/listener-set.ts`; kept for the Redis engine's import until it is updated. */
export { ListenerSet } from '../../lib/listener-set';

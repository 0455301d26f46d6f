import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_sessions';
import * as m0003 from './0003_delivered';
import * as m0004 from './0004_availability';
import * as m0005 from './0005_search';
import * as m0006 from './0006_users_fillfactor';

/**
 * Every migration, in order. A static map (not a folder scan) so the same list works under
 * `vite dev`, in the bundled `node build`, in vitest and from `npm run migrate`.
 */
export const migrations: Record<string, Migration> = {
	'0001_initial': m0001,
	'0002_sessions': m0002,
	'0003_delivered': m0003,
	'0004_availability': m0004,
	'0005_search': m0005,
	'0006_users_fillfactor': m0006
};

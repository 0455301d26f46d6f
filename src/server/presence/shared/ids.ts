import { randomFillSync } from 'node:crypto';

/**
 * Connection ids carry their workspace: `<workspaceId>~<random>`. Heartbeats, focus and page
 * reports may reach any node (no sticky sessions), and every key is hash-tagged by workspace,
 * so a node must find the workspace from the id alone, without a lookup that would cross slots.
 */

const SEPARATOR = '~';
/** A workspace id may not contain the separator or hash-tag braces (they would change the slot). */
const WORKSPACE = /^[^~{}\s]{1,128}$/;
const RANDOM = /^[A-Za-z0-9_-]{16,64}$/;

export function isValidWorkspaceId(workspaceId: string): boolean {
	return WORKSPACE.test(workspaceId);
}

/** Random bytes of a connection id: 96 bits, 16 characters of base64url. */
const ID_BYTES = 12;
/**
 * Random bytes are drawn from the CSPRNG 256 ids at a time: a call into it per connection was
 * 1.5 % of a node's CPU while streams open. Each id still gets bytes no other id had.
 */
const pool = Buffer.alloc(ID_BYTES * 256);
let used = pool.length;

function randomPart(): string {
	if (used === pool.length) {
		randomFillSync(pool);
		used = 0;
	}
	const part = pool.toString('base64url', used, used + ID_BYTES);
	used += ID_BYTES;
	return part;
}

export function newConnectionId(workspaceId: string): string {
	if (!isValidWorkspaceId(workspaceId)) {
		throw new Error(`Invalid workspace id for presence: ${JSON.stringify(workspaceId)}`);
	}
	return `${workspaceId}${SEPARATOR}${randomPart()}`;
}

/** The workspace of a connection id, or null when the id is malformed (callers treat it as unknown). */
export function workspaceOfConnection(connectionId: string): string | null {
	const at = connectionId.lastIndexOf(SEPARATOR);
	if (at <= 0) return null;
	const workspaceId = connectionId.slice(0, at);
	const random = connectionId.slice(at + 1);
	return WORKSPACE.test(workspaceId) && RANDOM.test(random) ? workspaceId : null;
}

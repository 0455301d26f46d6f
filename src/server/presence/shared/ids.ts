import { randomBytes } from 'node:crypto';

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

export function newConnectionId(workspaceId: string): string {
	if (!isValidWorkspaceId(workspaceId)) {
		throw new Error(`Invalid workspace id for presence: ${JSON.stringify(workspaceId)}`);
	}
	return `${workspaceId}${SEPARATOR}${randomBytes(12).toString('base64url')}`;
}

/** The workspace of a connection id, or null when the id is malformed (callers treat it as unknown). */
export function workspaceOfConnection(connectionId: string): string | null {
	const at = connectionId.lastIndexOf(SEPARATOR);
	if (at <= 0) return null;
	const workspaceId = connectionId.slice(0, at);
	const random = connectionId.slice(at + 1);
	return WORKSPACE.test(workspaceId) && RANDOM.test(random) ? workspaceId : null;
}

/**
 * Where a sent message is, for its sender (inbox and widget alike): stored; reached one of the
 * recipient's devices (a live stream when sent, or loaded later); seen by them.
 */
export type Receipt = 'sent' | 'delivered' | 'read';

/** The receipt of a message sent at `createdAt` to someone holding these marks (ISO strings). */
export function receiptOf(
	createdAt: string,
	marks: { lastReadAt: string | null; lastDeliveredAt: string | null } | null | undefined
): Receipt {
	if (marks?.lastReadAt && marks.lastReadAt >= createdAt) return 'read';
	if (marks?.lastDeliveredAt && marks.lastDeliveredAt >= createdAt) return 'delivered';
	return 'sent';
}

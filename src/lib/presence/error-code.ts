import { TRPCClientError } from '@trpc/client';

/** The tRPC code a call failed with (`NOT_FOUND`, `UNAUTHORIZED`, ...), or undefined. */
export function codeOf(error: unknown): string | undefined {
	if (error instanceof TRPCClientError) {
		const data = error.data as { code?: string } | undefined;
		return data?.code;
	}
	return undefined;
}

/** Refused for good: trying again with the same credentials cannot help. */
export function isPermanent(error: unknown) {
	const code = codeOf(error);
	return code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
}

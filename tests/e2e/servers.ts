/** The e2e app servers: one per Playwright worker, on consecutive ports from E2E_PORT. */
export const E2E_WORKERS = Math.max(1, Number(process.env.E2E_WORKERS ?? 1));
const FIRST_PORT = Number(process.env.E2E_PORT ?? 4173);

export const e2eServerPort = (index: number) => FIRST_PORT + index;
export const e2eServerUrl = (index: number) => `http://127.0.0.1:${e2eServerPort(index)}`;

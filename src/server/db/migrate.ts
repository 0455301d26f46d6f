import { Migrator, type Kysely, type MigrationProvider } from 'kysely';
import { migrations } from '../../../migrations';

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date; running it again is a no-op. Throws with the failing migration's name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
	const migrator = new Migrator({ db, provider });
	const { error, results = [] } = await migrator.migrateToLatest();
	const failed = results.find((r) => r.status === 'Error');
	if (error) {
		const reason = error instanceof Error ? error.message : String(error);
		throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, {
			cause: error
		});
	}
	return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

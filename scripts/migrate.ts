// `npm run migrate [-- --seed]`: brings the database (DATABASE_URL, else localhost, else the
// embedded one) up to date, and with --seed creates the demo workspace if it is missing.
import { loadConfig } from '../src/server/config';
import { connectConfiguredDatabase } from '../src/server/db/connect';
import { migrateToLatest } from '../src/server/db/migrate';
import { seedDemo } from '../src/server/db/seed';

const database = await connectConfiguredDatabase(loadConfig());
try {
	const applied = await migrateToLatest(database.db);
	console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
	if (process.argv.includes('--seed')) await seedDemo(database.db);
} finally {
	await database.close();
}

import { createDatabase } from '../activities/db/pool';
import { migrate } from '../activities/db/migrate';

/**
 * `npm run migrate` (compiled: `node dist/scripts/migrate.js`): applies pending migrations to DATABASE_URL
 * (the compose "migrations" service).
 */
async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is required');
  const db = createDatabase({ connectionString: url, applicationName: 'certfleet-migrate', max: 1 });
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'database schema is up to date');
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(`certfleet migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

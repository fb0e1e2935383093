/**
 * `npm run restore -- --from DIR`: puts a backup of `npm run backup` back (docs/backup-restore.md).
 *
 *   npm run restore -- --from backups/certfleet-…                    # dumps onto RESTORE_POSTGRES_URL's server (fresh databases)
 *   npm run restore -- --from backups/certfleet-… --compose-owners   # owners certfleet / temporal, as compose creates them
 *   npm run restore -- --from backups/certfleet-… --data-dir data    # an archived npm start data directory (new directory)
 *
 * Every file is checked against the manifest's SHA-256 first. Databases that already have tables and a
 * non-empty data directory are refused. The master key is not in the backup: start CertFleet with the
 * key it had (CERTFLEET_MASTER_KEY or the master.key file put back by hand).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { restoreDataDir } from './backup/data-dir';
import { COMPOSE_DATABASE_NAMES, restoreDatabases, type DatabaseNames } from './backup/databases';
import { readVerifiedManifest } from './backup/manifest';

const { values: args } = parseArgs({
  options: {
    from: { type: 'string' },
    'data-dir': { type: 'string' },
    'compose-owners': { type: 'boolean', default: false },
    'certfleet-db': { type: 'string' },
    'temporal-db': { type: 'string' },
    'visibility-db': { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (!args.from) throw new Error('restore: --from DIR (a directory written by npm run backup) is required');
  const from = path.resolve(args.from);
  const manifest = await readVerifiedManifest(from);
  const archive = manifest.files.find((f) => f.part === 'data-dir');
  if (archive) {
    if (!args['data-dir']) throw new Error('restore: this backup is a data directory; pass --data-dir NEW_DIR');
    await restoreDataDir(from, archive, args['data-dir']);
    console.log(`restore: data directory restored into ${path.resolve(args['data-dir'])}`);
  }
  const dumps = manifest.files.filter((f) => f.part !== 'data-dir');
  if (dumps.length) {
    const serverUrl = process.env['RESTORE_POSTGRES_URL'];
    if (!serverUrl) throw new Error('restore: set RESTORE_POSTGRES_URL (a superuser of the server to restore onto)');
    const names: DatabaseNames = {
      certfleet: args['certfleet-db'] ?? COMPOSE_DATABASE_NAMES.certfleet,
      temporal: args['temporal-db'] ?? COMPOSE_DATABASE_NAMES.temporal,
      temporal_visibility: args['visibility-db'] ?? COMPOSE_DATABASE_NAMES.temporal_visibility,
    };
    const binDir = process.env['PG_BINDIR'];
    await restoreDatabases(from, dumps, {
      serverUrl,
      names,
      ...(args['compose-owners']
        ? { owners: { certfleet: 'certfleet', temporal: 'temporal', temporal_visibility: 'temporal' } }
        : {}),
      ...(binDir ? { binDir } : {}),
    });
    console.log(`restore: ${dumps.map((d) => `${d.part} → ${names[d.part as keyof DatabaseNames]}`).join(', ')}`);
  }
  if (!manifest.quiesced)
    console.log(
      'restore: this backup was taken online; see docs/backup-restore.md for what that means for runs in flight',
    );
  console.log('restore: start CertFleet with the master key it had (not in the backup), then check the console');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

/**
 * `npm run backup`: a backup of CertFleet without its master key (docs/backup-restore.md).
 *
 *   npm run backup                                   # the three databases on BACKUP_POSTGRES_URL's (else DATABASE_URL's) server
 *   npm run backup -- --compose                      # under docker compose: stops temporal, worker, web; dumps; starts them
 *   npm run backup -- --data-dir data                # npm start's data directory (npm start stopped)
 *
 * Options: --out DIR (default backups/certfleet-<UTC stamp>), --online (dump although other clients are
 * connected, in the order of DUMP_ORDER), --certfleet-db / --temporal-db / --visibility-db NAME.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { archiveDataDir } from './backup/data-dir';
import { COMPOSE_DATABASE_NAMES, dumpDatabases, otherClients, type DatabaseNames } from './backup/databases';
import { MANIFEST_FORMAT, MASTER_KEY_NOTE, writeManifest, type ManifestFile } from './backup/manifest';
import { assertKeyAbsent, checkBackupDirectory, keyNeedles, masterKeyLocation } from './backup/master-key-guard';

/** The compose services that write to the databases, stopped while they are dumped (started again in reverse). */
export const COMPOSE_WRITERS = ['worker', 'web', 'temporal-ui', 'temporal'] as const;

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    compose: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    online: { type: 'boolean', default: false },
    'certfleet-db': { type: 'string' },
    'temporal-db': { type: 'string' },
    'visibility-db': { type: 'string' },
  },
});

function names(): DatabaseNames {
  return {
    certfleet: args['certfleet-db'] ?? COMPOSE_DATABASE_NAMES.certfleet,
    temporal: args['temporal-db'] ?? COMPOSE_DATABASE_NAMES.temporal,
    temporal_visibility: args['visibility-db'] ?? COMPOSE_DATABASE_NAMES.temporal_visibility,
  };
}

const compose = (...rest: string[]): void => {
  execFileSync('docker', ['compose', ...rest], { stdio: 'inherit' });
};

async function main(): Promise<void> {
  const env = process.env;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const outDir = path.resolve(args.out ?? path.join('backups', `certfleet-${stamp}`));
  const dataDir = path.resolve(args['data-dir'] ?? env['CERTFLEET_DATA_DIR'] ?? 'data');
  const key = masterKeyLocation(env, dataDir);
  checkBackupDirectory(outDir, key, args['data-dir'] ? dataDir : undefined);
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new Error(`backup: ${outDir} is not empty`);
  await mkdir(outDir, { recursive: true, mode: 0o700 });

  let files: ManifestFile[];
  let quiesced = true;
  if (args['data-dir']) {
    files = [await archiveDataDir(dataDir, outDir, key.keyFile)];
  } else if (args.compose) {
    if (!args.online) compose('stop', ...COMPOSE_WRITERS);
    try {
      files = await dumpDatabases({ kind: 'compose', service: 'postgres' }, names(), outDir);
    } finally {
      if (!args.online) compose('start', ...[...COMPOSE_WRITERS].reverse());
    }
    quiesced = !args.online;
  } else {
    const serverUrl = env['BACKUP_POSTGRES_URL'] ?? env['DATABASE_URL'];
    if (!serverUrl)
      throw new Error(
        'backup: set BACKUP_POSTGRES_URL (a role that may read all three databases), or use --compose or --data-dir',
      );
    const others = await otherClients(serverUrl, names());
    if (others.length && !args.online)
      throw new Error(
        'backup: the stack is running (connected: ' +
          others.map((c) => `${c.application || c.user} on ${c.database}`).join(', ') +
          '). Stop the worker, the web and the Temporal server first, or pass --online (docs/backup-restore.md).',
      );
    quiesced = others.length === 0;
    const binDir = env['PG_BINDIR'];
    files = await dumpDatabases({ kind: 'local', serverUrl, ...(binDir ? { binDir } : {}) }, names(), outDir);
  }
  await assertKeyAbsent(
    files.map((f) => path.join(outDir, f.file)),
    await keyNeedles(key),
  );
  await writeManifest(outDir, {
    format: MANIFEST_FORMAT,
    createdAt: new Date().toISOString(),
    quiesced,
    files,
    masterKey: MASTER_KEY_NOTE,
  });
  console.log(`backup: ${outDir} (${files.map((f) => f.file).join(', ')}${quiesced ? '' : '; taken online'})`);
  console.log('backup: the master key is NOT in it; keep your copy of CERTFLEET_MASTER_KEY / master.key apart');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

/**
 * The three databases of a CertFleet installation, dumped and restored: CertFleet's own and Temporal's
 * two (persistence and SQL visibility). docs/backup-restore.md explains the order and why the stack is
 * quiesced while they are copied.
 */
import path from 'node:path';
import { createDatabase } from '../../activities/db/pool';
import { describeFile, type BackupPart, type ManifestFile } from './manifest';
import { databaseUrl, dumpCommand, restoreCommand, runPiped, type PgTarget } from './pg-tools';

export type DatabasePart = Exclude<BackupPart, 'data-dir'>;

/**
 * The order the dumps are taken in. Quiesced, any order gives the same result. Online (--online),
 * Temporal's persistence goes first and CertFleet's database last: a CertFleet database newer than
 * Temporal's only means Temporal re-runs activities that had finished after its dump, which are
 * idempotent; the other way round Temporal would carry on from results CertFleet has no rows for.
 */
export const DUMP_ORDER: readonly DatabasePart[] = ['temporal', 'temporal_visibility', 'certfleet'];

/** Database names on the server, by part (compose: certfleet, temporal, temporal_visibility). */
export type DatabaseNames = Record<DatabasePart, string>;

export const COMPOSE_DATABASE_NAMES: DatabaseNames = {
  certfleet: 'certfleet',
  temporal: 'temporal',
  temporal_visibility: 'temporal_visibility',
};

export interface ConnectedClient {
  database: string;
  application: string;
  user: string;
}

/**
 * Who else is connected to the databases: the Temporal server, worker and web hold connections while
 * they run, so an empty list means the stack is quiesced. Needs a role that sees pg_stat_activity's
 * database column for every session (any role does: only the query text is hidden).
 */
export async function otherClients(serverUrl: string, names: DatabaseNames): Promise<ConnectedClient[]> {
  const db = createDatabase({
    connectionString: databaseUrl(serverUrl, 'postgres'),
    max: 1,
    applicationName: 'certfleet-backup',
  });
  try {
    const rows = await db.query<{ datname: string; application_name: string; usename: string | null }>(
      `SELECT datname, application_name, usename FROM pg_stat_activity
        WHERE datname = ANY($1) AND pid <> pg_backend_pid() ORDER BY datname, application_name`,
      [Object.values(names)],
    );
    return rows.map((r) => ({ database: r.datname, application: r.application_name, user: r.usename ?? '' }));
  } finally {
    await db.close();
  }
}

/** Dumps the three databases into `outDir` as `<part>.dump`, in DUMP_ORDER. */
export async function dumpDatabases(target: PgTarget, names: DatabaseNames, outDir: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const part of DUMP_ORDER) {
    const file = `${part}.dump`;
    await runPiped(dumpCommand(target, names[part]), { output: path.join(outDir, file) });
    files.push(await describeFile(outDir, file, part, names[part]));
  }
  return files;
}

export interface RestoreDatabasesOptions {
  /** A superuser (or CREATEDB) connection URL of the server restored onto; its database part is ignored. */
  serverUrl: string;
  names: DatabaseNames;
  /** Owner of each created database and role the restored objects belong to (compose: certfleet, temporal, temporal). */
  owners?: Partial<Record<DatabasePart, string>>;
  binDir?: string;
}

/**
 * Creates each database (refusing one that already has tables: a restore goes onto a fresh server or
 * fresh databases, never over live data) and pg_restores its dump into it.
 */
export async function restoreDatabases(
  backupDir: string,
  files: readonly ManifestFile[],
  o: RestoreDatabasesOptions,
): Promise<void> {
  const admin = createDatabase({ connectionString: databaseUrl(o.serverUrl, 'postgres'), max: 1 });
  const target: PgTarget = { kind: 'local', serverUrl: o.serverUrl, ...(o.binDir ? { binDir: o.binDir } : {}) };
  try {
    for (const entry of files) {
      if (entry.part === 'data-dir') continue;
      const name = o.names[entry.part];
      const owner = o.owners?.[entry.part];
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!exists.length) {
        const quote = (id: string): string => `"${id.replaceAll('"', '""')}"`;
        await admin.query(`CREATE DATABASE ${quote(name)}${owner ? ` OWNER ${quote(owner)}` : ''}`);
      } else {
        const db = createDatabase({ connectionString: databaseUrl(o.serverUrl, name), max: 1 });
        try {
          const [row] = await db.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
          );
          if (Number(row?.n ?? 0) > 0)
            throw new Error(
              `restore: database ${name} already has tables; restore onto a fresh server or drop it first (nothing was changed in it)`,
            );
        } finally {
          await db.close();
        }
      }
      await runPiped(restoreCommand(target, name, owner), { input: path.join(backupDir, entry.file) });
    }
  } finally {
    await admin.close();
  }
}

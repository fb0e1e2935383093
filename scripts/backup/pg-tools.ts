/**
 * pg_dump and pg_restore, run either on this machine against a connection URL or inside the compose
 * `postgres` container (`docker compose exec -T postgres …` as the superuser, as docs/install-compose.md
 * does), with the dump streamed through stdin/stdout so the same file works both ways.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { RecentLines, forEachLine } from '../process-lines';

export type PgTarget = { kind: 'local'; serverUrl: string; binDir?: string } | { kind: 'compose'; service: string };

/** The URL of `database` on the server of `serverUrl` (same user, password, host and options). */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function tool(target: PgTarget, name: 'pg_dump' | 'pg_restore' | 'psql', args: string[]): [string, string[]] {
  if (target.kind === 'compose')
    return ['docker', ['compose', 'exec', '-T', target.service, name, '-U', 'postgres', ...args]];
  return [target.binDir ? `${target.binDir}/${name}` : name, args];
}

/** pg_dump's custom format of one database (compressed, restorable table by table with pg_restore). */
export function dumpCommand(target: PgTarget, database: string): [string, string[]] {
  const where = target.kind === 'local' ? ['--dbname', databaseUrl(target.serverUrl, database)] : [database];
  return tool(target, 'pg_dump', ['--format=custom', '--no-password', ...where]);
}

/** pg_restore into an existing empty database; owners are replaced by `role` when given (compose's certfleet/temporal roles). */
export function restoreCommand(target: PgTarget, database: string, role?: string): [string, string[]] {
  const where = target.kind === 'local' ? databaseUrl(target.serverUrl, database) : database;
  const owner = role ? ['--no-owner', `--role=${role}`] : ['--no-owner'];
  return tool(target, 'pg_restore', ['--exit-on-error', '--no-password', ...owner, '--dbname', where]);
}

/** Runs a command with stdin from `input` and stdout into `output` (either may be absent); rejects with its stderr. */
export function runPiped(command: [string, string[]], io: { input?: string; output?: string }): Promise<void> {
  const [cmd, args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', io.output ? 'pipe' : 'ignore', 'pipe'] });
    const stderr = new RecentLines(20);
    forEachLine(child.stderr, (line) => stderr.push(line));
    let failure: Error | undefined;
    const fail = (error: Error): void => {
      failure ??= error;
    };
    // Settles once the output file is fully written (at once when there is none).
    let written: Promise<void> = Promise.resolve();
    if (io.output && child.stdout) {
      const sink = createWriteStream(io.output, { mode: 0o600 });
      written = new Promise((done) => sink.on('close', done));
      sink.on('error', fail);
      child.stdout.pipe(sink);
    }
    const { stdin } = child;
    if (stdin) {
      stdin.on('error', fail);
      if (io.input) createReadStream(io.input).on('error', fail).pipe(stdin);
      else stdin.end();
    }
    child.on('error', (error) => reject(new Error(`${cmd}: ${error.message}`)));
    child.on('close', (code) => {
      void written.then(() => {
        if (code !== 0) reject(new Error(`${cmd} ${args[0] ?? ''} … failed (exit ${code}): ${stderr.toString()}`));
        else if (failure) reject(failure);
        else resolve();
      });
    });
  });
}

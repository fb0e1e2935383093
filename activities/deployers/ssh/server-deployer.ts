/**
 * The deployer of a web server managed over SSH (nginx, apache): certificate files on disk, a
 * config test and a reload. Facts: docs/vendors/ssh-targets.md.
 *
 * stage     checks that the key belongs to the certificate, then writes the version's files next
 *           to the live ones as `<live path>.<name-serial>` (atomically, the key at 0600); a retry
 *           finds them and rewrites nothing.
 * activate  copies the live files to `<live path>.certfleet-backup` (not again when a retry finds the
 *           version already live), writes the staged contents over the live paths (temp file +
 *           rename), runs the config test, then the reload, and waits until the verify ports serve
 *           the new certificate. When the test or the reload fails, or the server stops answering,
 *           the previous files are put back and the server reloaded before the error is thrown.
 *           Returns the backup paths as the previous binding ('' = the file did not exist).
 * rollback  puts the backups back, tests, reloads (same all-or-nothing). It takes no new backup, so
 *           a retried rollback restores the same files; its `previous` is empty.
 * removeSuperseded deletes staged copies of versions no longer kept.
 * StagedObjects and BindingState hold file paths only (they go into Temporal history).
 * The files and what goes into them: ./served-files.ts. The configuration is parsed once by the
 * vendor's typed parsers (../config-check.ts); a target that does not parse gets a deployer whose
 * every step throws the VALIDATION error naming the bad fields.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { checkKeyMatchesCertificate } from '../key-match';
import { checkDeployerConfig, refusingDeployer, type VendorParsers } from '../config-check';
import { objectName } from '../naming';
import type { Activation, BindingState, Deployer, DeployerContext, StagedObjects, VerifyEndpoint } from '../types';
import { servedCertificate } from '../verify-served';
import {
  BACKUP_SUFFIX,
  verifyEndpointsFor,
  type SshCredentials,
  type SshServerOptions,
  type SshVerifyBinding,
} from './options';
import { remoteFiles, type RemoteFiles } from './remote-files';
import { leafFingerprint, same, STAGED_NAME_RULES, TAG, type Contents, type ServedFile } from './served-files';
import { fileChecks } from './file-checks';
import { pinnedConnection } from './pinned-connection';
import type { SshSession } from './session';
import { trimOutput } from './shell';

export {
  chainOnly,
  fullChain,
  keyFile,
  leafOnly,
  STAGED_NAME_RULES,
  type FileKind,
  type ServedFile,
} from './served-files';

/** What differs between SSH-managed servers: their typed options (file paths), files and version commands. */
export interface SshServerSpec<O extends SshServerOptions> extends VendorParsers<SshCredentials, O, SshVerifyBinding> {
  /** Message prefix and vendor id, e.g. "nginx". */
  component: string;
  /** The files of a target, from its parsed options. */
  files: (options: O) => ServedFile[];
  /** Commands printing the server version, tried in order (run with sudo when configured). */
  versionCommands: (options: O) => string[];
  /** Picks the version out of their output, e.g. /nginx\/[\d.]+/. */
  versionPattern: RegExp;
}

const describeEndpoint = (e: VerifyEndpoint): string =>
  `${e.host}:${e.port}${e.servername ? ` (SNI ${e.servername})` : ''}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createSshServerDeployer<O extends SshServerOptions>(
  spec: SshServerSpec<O>,
  ctx: DeployerContext,
): Deployer {
  const C = spec.component;
  const config = checkDeployerConfig(C, spec, ctx);
  if (!config.targetValid) return refusingDeployer(config);
  const { options: server, credentials: login } = config.target();
  const files = spec.files(server);
  const sudo = server.useSudo;
  const endpoints = config.binding ? verifyEndpointsFor(ctx.target.host, config.binding) : [];
  const waitMs = server.reloadWaitSeconds * 1000;

  const connection = pinnedConnection({
    component: C,
    target: ctx.target,
    hostKeySha256: server.hostKeySha256,
    login,
    keyListCommand: (keyFile) => `ssh-keygen -lf /etc/ssh/ssh_host_${keyFile}_key.pub`,
  });
  let remote: Promise<RemoteFiles> | undefined;

  const open = async (): Promise<{ ssh: SshSession; fs: RemoteFiles }> => {
    const ssh = await connection.open();
    remote ??= remoteFiles(ssh, { component: C, sudo });
    return { ssh, fs: await remote };
  };

  const run = async (command: string): Promise<{ ok: boolean; output: string }> => {
    const { ssh } = await open();
    const result = await ssh.exec(command, { sudo });
    return {
      ok: result.code === 0,
      output: trimOutput(`${result.stdout}\n${result.stderr}`) || `(no output, exit ${result.code})`,
    };
  };

  const stagedPath = (file: ServedFile, tag: string): string => `${file.path}.${tag}`;
  const backupPath = (file: ServedFile): string => `${file.path}${BACKUP_SUFFIX}`;

  /** The version tag of staged objects, checked against this target's paths. */
  function tagOf(staged: StagedObjects): string {
    let tag: string | undefined;
    for (const file of files) {
      const value = staged[file.kind];
      const candidate = value?.startsWith(`${file.path}.`) ? value.slice(file.path.length + 1) : undefined;
      if (!candidate || !TAG.test(candidate) || (tag !== undefined && candidate !== tag)) {
        throw classified(
          FailureType.validation,
          `${C}: the staged files (${Object.values(staged).join(', ') || 'none'}) do not belong to this target's paths; stage the version again`,
        );
      }
      tag = candidate;
    }
    if (tag === undefined) throw classified(FailureType.validation, `${C}: nothing staged to activate`);
    return tag;
  }

  async function readAll(fs: RemoteFiles, pathOf: (file: ServedFile) => string): Promise<Contents> {
    const contents: Contents = new Map();
    for (const file of files) contents.set(file.kind, await fs.read(pathOf(file)));
    return contents;
  }

  /** Puts contents at the live paths (undefined: no file). */
  async function putLive(fs: RemoteFiles, contents: Contents): Promise<void> {
    for (const file of files) {
      const data = contents.get(file.kind);
      if (data) await fs.writeAtomic(file.path, data, file.mode);
      else await fs.remove(file.path);
    }
  }

  /** Handshake fingerprint per endpoint, undefined where it does not answer. */
  async function probe(list: VerifyEndpoint[]): Promise<(string | undefined)[]> {
    return Promise.all(
      list.map((e) =>
        servedCertificate(e, 3000).then(
          (s) => s.fingerprintSha256,
          () => undefined,
        ),
      ),
    );
  }

  /**
   * Waits until every endpoint serves `expected` (a graceful reload takes a moment, and workers of
   * the old generation may still accept a connection or two: three rounds in a row must agree).
   * Returns the endpoints among `mustAnswer` that stopped answering at all — the reload left the
   * server unable to serve (Apache exits when key and certificate do not match; nginx workers fail
   * every handshake when the key is of another type). Endpoints serving some other certificate
   * are left to the verify step.
   */
  async function settle(expected: string | undefined, mustAnswer: VerifyEndpoint[]): Promise<VerifyEndpoint[]> {
    if (waitMs <= 0 || endpoints.length === 0) return [];
    const deadline = Date.now() + waitMs;
    let streak = 0;
    for (;;) {
      const seen = await probe(endpoints);
      const down = endpoints.filter((e, i) => seen[i] === undefined && mustAnswer.includes(e));
      const done = expected !== undefined ? seen.every((fp) => fp === expected) : down.length === 0;
      streak = done ? streak + 1 : 0;
      if (streak >= 3) return [];
      if (Date.now() >= deadline) return down;
      await sleep(150);
    }
  }

  /** Puts `contents` back after a failure, tests and reloads; returns a sentence for the error message. */
  async function restore(fs: RemoteFiles, contents: Contents): Promise<string> {
    try {
      await putLive(fs, contents);
      const test = await run(server.testCommand);
      if (!test.ok)
        return `The previous files were put back, but the config test fails with them too (${test.output}); ${C} was not reloaded.`;
      const reload = await run(server.reloadCommand);
      if (!reload.ok) return `The previous files were put back, but reloading ${C} failed too (${reload.output}).`;
      await settle(leafFingerprint(contents.get('cert')), []);
      return `The previous files were put back and ${C} reloaded.`;
    } catch (error) {
      return `Putting the previous files back failed too: ${error instanceof Error ? error.message : String(error)}.`;
    }
  }

  /**
   * Writes `wanted` over the live files, tests, reloads, waits for the new certificate. On any
   * failure puts `fallback` back (and reloads) before throwing: all or nothing.
   */
  async function apply(fs: RemoteFiles, wanted: Contents, fallback: Contents, what: string): Promise<void> {
    const before = waitMs > 0 ? await probe(endpoints) : [];
    const answering = endpoints.filter((_, i) => before[i] !== undefined);
    try {
      await putLive(fs, wanted);
    } catch (error) {
      const restored = await restore(fs, fallback);
      const message = error instanceof Error ? error.message : String(error);
      throw classified(
        error instanceof ClassifiedError ? error.type : FailureType.targetRejected,
        `${message}. ${restored}`,
      );
    }
    const test = await run(server.testCommand);
    if (!test.ok) {
      const restored = await restore(fs, fallback);
      throw classified(
        FailureType.targetRejected,
        `${C}: the config test (${server.testCommand}) failed with ${what}: ${test.output}. ${restored}`,
      );
    }
    const reload = await run(server.reloadCommand);
    if (!reload.ok) {
      const restored = await restore(fs, fallback);
      throw classified(
        FailureType.commitFailed,
        `${C}: the reload (${server.reloadCommand}) failed with ${what}: ${reload.output}. ${restored}`,
      );
    }
    const down = await settle(leafFingerprint(wanted.get('cert')), answering);
    if (down.length > 0) {
      const restored = await restore(fs, fallback);
      throw classified(
        FailureType.commitFailed,
        `${C}: after the reload with ${what}, ${down.map(describeEndpoint).join(', ')} stopped answering TLS (the server probably refused the new files; see its error log). ${restored}`,
      );
    }
  }

  const deployer: Deployer = {
    async preflight() {
      const changes: string[] = [];
      const identity = await connection.identityChecks(
        async () => `files through ${(await open()).fs.kind === 'sftp' ? 'SFTP' : 'commands'}`,
      );
      const { checks, ssh } = identity;
      if (!ssh) return { checks, changes };
      const { fs } = await open();
      if (sudo) {
        const probeSudo = await ssh.exec('true', { sudo: true });
        checks.push({
          name: 'sudo',
          ok: probeSudo.code === 0,
          detail:
            probeSudo.code === 0
              ? 'sudo -n works without a password'
              : `sudo -n failed (exit ${probeSudo.code}): ${trimOutput(probeSudo.stderr, 3, 300) || 'no output'}. Allow the commands with NOPASSWD.`,
        });
        // Everything else goes through sudo: nothing more to learn.
        if (probeSudo.code !== 0) return { checks, changes };
      }
      let firmware: string | undefined;
      for (const command of spec.versionCommands(server)) {
        const result = await ssh.exec(command, { sudo });
        const match = spec.versionPattern.exec(`${result.stdout}\n${result.stderr}`);
        if (match) {
          firmware = match[0].trim();
          break;
        }
      }
      const planned = await fileChecks(fs, files, { sudo, username: login.username });
      checks.push(...planned.checks);
      changes.push(...planned.changes);
      const test = await run(server.testCommand);
      checks.push({ name: 'config test', ok: test.ok, detail: `${server.testCommand}: ${test.output}` });
      changes.push(`then ${server.testCommand}; ${server.reloadCommand}`);
      return { ...(firmware ? { firmware } : {}), checks, changes };
    },

    async stage(material) {
      config.all();
      checkKeyMatchesCertificate(C, material, 'nothing was written');
      const { fs } = await open();
      const tag = objectName(material.commonName, material.serialHex, STAGED_NAME_RULES);
      const staged: StagedObjects = {};
      for (const file of files) {
        const target = stagedPath(file, tag);
        const data = Buffer.from(file.contents(material), 'utf8');
        const current = await fs.read(target);
        if (!current || !current.equals(data)) {
          await fs.writeAtomic(target, data, file.mode);
        } else {
          const stat = await fs.stat(target);
          if (stat && stat.mode !== file.mode) await fs.chmod(target, file.mode);
        }
        staged[file.kind] = target;
      }
      return staged;
    },

    async activate(staged, hooks): Promise<Activation> {
      config.all();
      const tag = tagOf(staged);
      const { fs } = await open();
      const wanted = await readAll(fs, (file) => stagedPath(file, tag));
      const missing = files.filter((file) => !wanted.get(file.kind)).map((file) => stagedPath(file, tag));
      if (missing.length > 0)
        throw classified(
          FailureType.targetRejected,
          `${C}: the staged ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} gone; stage the version again`,
        );
      const live = await readAll(fs, (file) => file.path);
      const alreadyLive = files.every((file) => same(live.get(file.kind), wanted.get(file.kind)));

      const previous: BindingState = {};
      let fallback: Contents;
      if (alreadyLive) {
        // A retry after the files were switched (or the version is live already): keep the backup
        // of what was there before, which the first attempt made.
        fallback = await readAll(fs, backupPath);
        for (const file of files) previous[file.kind] = fallback.get(file.kind) ? backupPath(file) : '';
        if (files.some((file) => !fallback.get(file.kind))) fallback = live;
        await hooks?.beforeChange?.(previous);
      } else {
        for (const file of files) previous[file.kind] = live.get(file.kind) ? backupPath(file) : '';
        // The rollback target is recorded before the first write (the backups included).
        await hooks?.beforeChange?.(previous);
        for (const file of files) {
          const data = live.get(file.kind);
          if (data) await fs.writeAtomic(backupPath(file), data, file.mode);
          else await fs.remove(backupPath(file));
        }
        fallback = live;
      }
      await apply(fs, wanted, fallback, `the new files (${tag})`);
      return { previous };
    },

    async activationStatus() {
      return { state: 'done' };
    },

    async rollback(previous): Promise<Activation> {
      if (Object.keys(previous).length === 0) return { previous: {} };
      for (const file of files) {
        const value = previous[file.kind];
        if (value === undefined || (value !== '' && value !== backupPath(file))) {
          throw classified(
            FailureType.validation,
            `${C}: the previous binding (${Object.values(previous).join(', ')}) does not match this target's paths; restore the files by hand`,
          );
        }
      }
      const { fs } = await open();
      const backups: Contents = new Map();
      for (const file of files) {
        const value = previous[file.kind];
        const data = value ? await fs.read(value) : undefined;
        if (value && !data)
          throw classified(FailureType.targetRejected, `${C}: the backup ${value} is gone; restore the files by hand`);
        backups.set(file.kind, data);
      }
      const current = await readAll(fs, (file) => file.path);
      await apply(fs, backups, current, 'the restored backup');
      return { previous: {} };
    },

    async removeSuperseded(keep, candidates) {
      const kept = new Set(keep.flatMap((s) => Object.values(s)));
      const ours = (value: string): boolean =>
        files.some(
          (file) =>
            value.startsWith(`${file.path}.`) &&
            TAG.test(value.slice(file.path.length + 1)) &&
            value !== backupPath(file),
        );
      const doomed = [...new Set(candidates.flatMap((s) => Object.values(s)))].filter(
        (value) => !kept.has(value) && ours(value),
      );
      if (doomed.length === 0) return [];
      const { fs } = await open();
      const removed: string[] = [];
      for (const value of doomed) if (await fs.remove(value)) removed.push(value);
      return removed;
    },

    async close() {
      remote = undefined;
      await connection.close();
    },
  };
  return deployer;
}

/**
 * F5 BIG-IP deployer (iControl REST, docs/vendors/f5-bigip.md).
 *
 * - Configuration parsed once, typed (descriptor.ts `bigipParsers` through checkDeployerConfig).
 * - One REST token per deployer instance (session.ts), deleted in close(), also after failures.
 * - Every step that changes the device first reads the account's role and refuses, before changing
 *   anything, when it is known not to be Administrator (roles.ts).
 * - stage: uploads and installs key, certificate and chain under names derived from the version;
 *   existing objects of those names are reused when their fingerprint matches (staging.ts).
 * - activate / rollback: every profile's cert-key-chain replaced in ONE transaction (binding.ts), then
 *   `sys config save`, then for an HA pair `config-sync to-group`; the sync is returned as a job that
 *   activationStatus follows until the group reports "In Sync" (sync.ts).
 * - removeSuperseded: deletes cert/key objects of superseded versions that no profile uses, saves and
 *   syncs (waiting here, bounded, for "In Sync").
 */
import { createHash, X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import { checkDeployerConfig } from '../config-check';
import { objectName, type NameRules } from '../naming';
import type {
  ActivateHooks,
  Activation,
  ActivationStatus,
  BindingState,
  CertificateMaterial,
  Deployer,
  DeployerContext,
  DeployerFactory,
  PreflightReport,
  StagedObjects,
} from '../types';
import { baseName, bindAll, fromBindingState, readBinding, toBindingState, type Binding } from './binding';
import { BigipHttpError, type BigipCertKeyChainEntry } from './client';
import { bigipParsers, type BigipCredentials, type BigipOptions } from './descriptor';
import { COMPONENT } from './failures';
import { bigipPreflight } from './preflight';
import { insufficientRole, judgeRole, readAccountRole } from './roles';
import { openBigipSession } from './session';
import { createStaging } from './staging';
import { parseSyncJobId, syncAndWait, syncJobId, syncProgress } from './sync';

/** BIG-IP object names: letters, digits, '.', '_', '-' (ASSUMPTION B3: 120 characters is comfortably below the limit). */
const NAME_RULES: NameRules = { maxLength: 120, allowed: /[A-Za-z0-9_.-]/ };

export interface BigipDeployerSettings {
  /** Upload chunk size in bytes. Default 512 KiB (f5-ansible uses 7 MiB; tests use a few hundred bytes). */
  chunkSize?: number;
  /** Attempts per file upload, each restarting from byte 0. Default 3 (as f5-ansible). */
  uploadAttempts?: number;
  /** Retry hint for DEVICE_SESSION_BUSY (token cap). Default 2 minutes. */
  busyRetryAfterMs?: number;
  /** How long a config-sync may take to reach "In Sync". Default 60 s (f5-ansible waits up to 9 minutes). */
  syncTimeoutMs?: number;
  /** Pause between sync-status reads where the deployer waits itself (removeSuperseded). Default 3 s, as f5-ansible. */
  syncPollMs?: number;
}

interface ResolvedConfig {
  credentials: BigipCredentials;
  options: BigipOptions;
  /** Full paths of the client-ssl profiles to bind (none for a target without a linked deployment). */
  profiles: string[];
}

const commonNameOf = (cert: X509Certificate): string => /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? 'chain';
const unique = <T>(items: T[]): T[] => [...new Set(items)];

export function createBigipDeployerWith(settings: BigipDeployerSettings = {}): DeployerFactory {
  const staging = {
    chunkSize: Math.max(1, settings.chunkSize ?? 512 * 1024),
    uploadAttempts: Math.max(1, settings.uploadAttempts ?? 3),
  };
  const busyRetryAfterMs = settings.busyRetryAfterMs ?? 120_000;
  const syncTiming = { timeoutMs: settings.syncTimeoutMs ?? 60_000, pollMs: settings.syncPollMs ?? 3_000 };

  return (ctx: DeployerContext): Deployer => {
    const parsed = checkDeployerConfig(COMPONENT, bigipParsers, ctx);
    // A target without a linked deployment yet has no binding: "Test connection" still checks everything else.
    const unbound = Object.keys(ctx.binding).length === 0;
    let resolved: ResolvedConfig | undefined;
    /** The typed configuration; throws VALIDATION_FAILED naming every bad field, before any device call. */
    const cfg = (): ResolvedConfig => {
      if (resolved) return resolved;
      const { credentials, options } = parsed.target();
      const named = unbound ? [] : parsed.all().binding.profiles;
      return (resolved = {
        credentials,
        options,
        profiles: named.map((p) => (p.startsWith('/') ? p : `/${options.partition}/${p}`)),
      });
    };
    const session = openBigipSession(ctx.target, () => cfg().credentials, busyRetryAfterMs);
    const { client } = session;
    const { ensureCert, ensureKey } = createStaging(client, staging);
    const step = <T>(doing: string, work: () => Promise<T>): Promise<T> => {
      cfg();
      return session.step(doing, work);
    };
    const label = (profile: string): string => {
      const prefix = `/${cfg().options.partition}/`;
      return profile.startsWith(prefix) ? profile.slice(prefix.length) : profile;
    };

    let roleChecked: Promise<void> | undefined;
    /** Before the first change: the account must be an Administrator (docs/vendors/f5-bigip.md). Once per instance. */
    const requireRole = (): Promise<void> =>
      (roleChecked ??= (async () => {
        const { username } = cfg().credentials;
        const refusal = insufficientRole(judgeRole(username, await readAccountRole(client, username)));
        if (refusal) throw refusal;
      })().catch((error: unknown) => {
        roleChecked = undefined;
        throw error;
      }));

    /** Saves, and for an HA pair starts config-sync: returns the job activationStatus follows. */
    async function persistAndSync(): Promise<string | undefined> {
      await client.saveConfig();
      const group = cfg().options.syncGroup;
      if (!group) return undefined;
      const started = Date.now();
      await client.configSyncToGroup(group);
      return syncJobId(group, started);
    }

    async function rebind(target: Binding, what: string, hooks?: ActivateHooks): Promise<Activation> {
      await requireRole();
      const current = await readBinding(client, [...target.keys()]);
      await hooks?.beforeChange?.(toBindingState(current));
      await bindAll(client, target, what, label, session.scrub);
      const jobId = await persistAndSync();
      return { previous: toBindingState(current), ...(jobId ? { jobId } : {}) };
    }

    return {
      async preflight(): Promise<PreflightReport> {
        return step('preflight', () => {
          const { credentials, options, profiles } = cfg();
          return bigipPreflight({
            client,
            username: credentials.username,
            profiles,
            label,
            ...(options.syncGroup ? { syncGroup: options.syncGroup } : {}),
          });
        });
      },

      async stage(material: CertificateMaterial): Promise<StagedObjects> {
        const { partition } = cfg().options;
        const base = objectName(material.commonName, material.serialHex, NAME_RULES);
        const staged: StagedObjects = { cert: `/${partition}/${base}.crt`, key: `/${partition}/${base}.key` };
        let chain: { path: string; pem: string; fingerprint: string } | undefined;
        const [first] = material.chainPems;
        if (first) {
          const intermediate = new X509Certificate(first);
          const pem = `${material.chainPems.map((p) => p.trim()).join('\n')}\n`;
          // One intermediate: named after it (shared by every leaf it issued); a longer chain: after its content.
          const serial =
            material.chainPems.length === 1
              ? intermediate.serialNumber
              : createHash('sha256').update(pem).digest('hex');
          chain = {
            path: `/${partition}/${objectName(commonNameOf(intermediate), serial, NAME_RULES)}.crt`,
            pem,
            fingerprint: intermediate.fingerprint256.replace(/:/g, '').toLowerCase(),
          };
          staged['chain'] = chain.path;
        }
        await step(`staging ${base}`, async () => {
          await requireRole();
          await ensureKey(`/${partition}/${base}.key`, material.keyPem);
          await ensureCert(`/${partition}/${base}.crt`, material.certPem, material.fingerprintSha256);
          if (chain) await ensureCert(chain.path, chain.pem, chain.fingerprint);
        });
        return staged;
      },

      async activate(staged: StagedObjects, hooks?: ActivateHooks): Promise<Activation> {
        const { cert, key, chain } = staged;
        if (!cert || !key)
          throw classified(FailureType.validation, `${COMPONENT}: staged objects name no cert and key`);
        const { profiles } = cfg();
        if (profiles.length === 0)
          throw classified(FailureType.validation, `${COMPONENT}: no client-ssl profile chosen for this deployment`);
        const entry: BigipCertKeyChainEntry = { name: baseName(cert), cert, key, ...(chain ? { chain } : {}) };
        return step(`activating ${baseName(cert)}`, () =>
          rebind(new Map(profiles.map((p) => [p, entry])), baseName(cert), hooks),
        );
      },

      /** Follows a config-sync started by activate or rollback until the group is "In Sync" (BIG-IP applies the binding itself synchronously). */
      async activationStatus(jobId: string): Promise<ActivationStatus> {
        const job = parseSyncJobId(jobId);
        if (!job) return { state: 'failed', detail: `${COMPONENT}: unknown activation job "${jobId}"` };
        return step(`checking config-sync to ${job.group}`, () =>
          syncProgress(client, job.group, job.startedAtMs, syncTiming.timeoutMs),
        );
      },

      async rollback(previous: BindingState): Promise<Activation> {
        const target = fromBindingState(previous);
        return step('rolling back', () => rebind(target, 'the previous certificate'));
      },

      async removeSuperseded(keep: StagedObjects[], candidates: StagedObjects[]): Promise<string[]> {
        const kept = new Set(keep.flatMap((s) => Object.values(s)));
        const certs = unique(candidates.flatMap((s) => [s['cert'], s['chain']])).filter(
          (n): n is string => Boolean(n) && !kept.has(n ?? ''),
        );
        const keys = unique(candidates.map((s) => s['key'])).filter(
          (n): n is string => Boolean(n) && !kept.has(n ?? ''),
        );
        if (certs.length === 0 && keys.length === 0) return [];
        return step('removing superseded objects', async () => {
          await requireRole();
          const inUse = new Set(
            (await client.listClientSslProfiles()).flatMap((p) =>
              p.certKeyChain.flatMap((e) => [e.cert, e.key, e.chain ?? '']),
            ),
          );
          const removed: string[] = [];
          const remove = async (name: string, del: (n: string) => Promise<boolean>): Promise<void> => {
            if (inUse.has(name)) return;
            try {
              if (await del(name)) removed.push(name);
            } catch (error) {
              // Still referenced by something else (a server-ssl profile, another partition): leave it.
              if (error instanceof BigipHttpError && (error.status === 400 || error.status === 409)) return;
              throw error;
            }
          };
          // Certificates before keys (a key is referenced through its certificate).
          for (const name of certs) await remove(name, (n) => client.deleteCert(n));
          for (const name of keys) await remove(name, (n) => client.deleteKey(n));
          if (removed.length > 0) {
            await client.saveConfig();
            const group = cfg().options.syncGroup;
            if (group) await syncAndWait(client, group, syncTiming);
          }
          return removed;
        });
      },

      close: () => session.close(),
    };
  };
}

export const createBigipDeployer: DeployerFactory = createBigipDeployerWith();

/**
 * F5 BIG-IP deployer (iControl REST, docs/vendors/f5-bigip.md).
 *
 * - One REST token per deployer instance, created at the first call and deleted in close(), also
 *   after failures (100 active tokens per user: docs/vendors/f5-bigip.md).
 * - stage: uploads cert, key and chain in chunks (a failed upload restarts from byte 0) and
 *   installs them under new names derived from the version; existing objects of those names are reused
 *   when their fingerprint matches. The key upload is removed from the downloads folder afterwards.
 * - activate / rollback: every profile's cert-key-chain is replaced in ONE transaction (key and
 *   certificate change together, so the device's key/cert match check never sees half a pair),
 *   then `sys config save`, then an optional config-sync to the device group. Synchronous: no job id.
 * - removeSuperseded: deletes cert/key objects of superseded versions that no profile uses.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { createDeviceHttp } from '../device-http';
import { objectName, type NameRules } from '../naming';
import type {
  Activation,
  ActivationStatus,
  BindingState,
  CertificateMaterial,
  Deployer,
  DeployerContext,
  DeployerFactory,
  PreflightCheck,
  PreflightReport,
  StagedObjects,
} from '../types';
import { BigipClient, BigipHttpError, type BigipCertKeyChainEntry } from './client';
import { parseBigipBinding, parseBigipCredentials, parseBigipOptions, type BigipCredentials } from './descriptor';

const COMPONENT = 'f5-bigip';
const DOWNLOADS = '/var/config/rest/downloads';
/** BIG-IP object names: letters, digits, '.', '_', '-' (GUESS: 120 characters is comfortably below the limit). */
const NAME_RULES: NameRules = { maxLength: 120, allowed: /[A-Za-z0-9_.-]/ };

export interface BigipDeployerSettings {
  /** Upload chunk size in bytes. Default 512 KiB (f5-ansible uses 7 MiB; tests use a few hundred bytes). */
  chunkSize?: number;
  /** Attempts per file upload, each restarting from byte 0. Default 3 (as f5-ansible). */
  uploadAttempts?: number;
  /** Retry hint for DEVICE_SESSION_BUSY (token cap). Default 2 minutes. */
  busyRetryAfterMs?: number;
}

interface BigipConfig {
  credentials: BigipCredentials;
  partition: string;
  syncGroup?: string;
  /** Full paths of the client-ssl profiles to bind. */
  profiles: string[];
}

type Binding = Map<string, BigipCertKeyChainEntry>;

function readConfig(ctx: DeployerContext): BigipConfig {
  const credentials = parseBigipCredentials(ctx.target.credentials);
  const options = parseBigipOptions(ctx.target.options);
  // A target without a linked deployment yet has no binding: "Test connection" still checks everything else.
  const unbound = Object.keys(ctx.binding).length === 0;
  const binding = unbound ? { value: { profiles: [] as string[] }, errors: {} } : parseBigipBinding(ctx.binding);
  const errors = [...Object.values(credentials.errors), ...Object.values(options.errors), ...Object.values(binding.errors)];
  if (errors.length > 0) throw classified(FailureType.validation, `${COMPONENT}: target ${ctx.target.name}: ${errors.join(' ')}`);
  const partition = String(options.value['partition']);
  const syncGroup = typeof options.value['syncGroup'] === 'string' ? options.value['syncGroup'] : undefined;
  const profiles = (binding.value['profiles'] as string[]).map((p) => (p.startsWith('/') ? p : `/${partition}/${p}`));
  return { credentials: credentials.value as unknown as BigipCredentials, partition, profiles, ...(syncGroup ? { syncGroup } : {}) };
}

const fingerprintHex = (value: string): string => value.replace(/^SHA256\//i, '').replace(/:/g, '').toLowerCase();
const commonNameOf = (cert: X509Certificate): string => /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? 'chain';
const baseName = (fullPath: string): string => (fullPath.split('/').pop() ?? fullPath).replace(/\.(crt|key)$/, '');
const unique = <T>(items: T[]): T[] => [...new Set(items)];

/** BindingState keys: "<profile full path>#name|cert|key|chain" (object names only, never secrets). */
function toBindingState(binding: Binding): BindingState {
  const state: BindingState = {};
  for (const [profile, entry] of binding) {
    state[`${profile}#name`] = entry.name;
    state[`${profile}#cert`] = entry.cert;
    state[`${profile}#key`] = entry.key;
    if (entry.chain) state[`${profile}#chain`] = entry.chain;
  }
  return state;
}

function fromBindingState(state: BindingState): Binding {
  const binding: Binding = new Map();
  for (const [k, value] of Object.entries(state)) {
    const m = /^(\/.+)#(name|cert|key|chain)$/.exec(k);
    if (!m?.[1] || !m[2]) throw classified(FailureType.validation, `${COMPONENT}: rollback state has an unknown entry "${k}"`);
    const entry = binding.get(m[1]) ?? { name: '', cert: '', key: '' };
    entry[m[2] as 'name' | 'cert' | 'key' | 'chain'] = value;
    binding.set(m[1], entry);
  }
  for (const [profile, entry] of binding) {
    if (!entry.cert || !entry.key) throw classified(FailureType.validation, `${COMPONENT}: rollback state for ${profile} names no certificate and key`);
    if (!entry.name) entry.name = baseName(entry.cert);
  }
  if (binding.size === 0) throw classified(FailureType.validation, `${COMPONENT}: rollback state is empty`);
  return binding;
}

export function createBigipDeployerWith(settings: BigipDeployerSettings = {}): DeployerFactory {
  const chunkSize = Math.max(1, settings.chunkSize ?? 512 * 1024);
  const uploadAttempts = Math.max(1, settings.uploadAttempts ?? 3);
  const busyRetryAfterMs = settings.busyRetryAfterMs ?? 120_000;

  return (ctx: DeployerContext): Deployer => {
    const http = createDeviceHttp(ctx.target, COMPONENT);
    const client = new BigipClient(http);
    let config: BigipConfig | undefined;
    let token: string | undefined;
    let loggingIn: Promise<void> | undefined;
    let renewed = false;
    let closed = false;

    const cfg = (): BigipConfig => (config ??= readConfig(ctx));
    const secrets = (): string[] => [ctx.target.credentials['password'] ?? '', token ?? ''].filter((s) => s.length >= 4);
    const scrub = (message: string): string => secrets().reduce((m, s) => m.split(s).join('***'), message);

    /** Maps a device reply to a failure type; transport errors arrive classified already. */
    function toClassified(error: unknown, doing: string): unknown {
      if (error instanceof ClassifiedError) return error;
      if (!(error instanceof BigipHttpError)) return error;
      const message = scrub(`${COMPONENT}: ${doing}: ${error.message}`);
      if (error.status === 401 && /authorization failed/i.test(error.deviceMessage)) return classified(FailureType.targetPermission, message);
      if (error.status === 401) return classified(FailureType.targetAuth, message);
      if (error.status === 403) return classified(FailureType.targetPermission, message);
      if (error.status === 408 || error.status === 429 || error.status >= 500) return classified(FailureType.targetUnreachable, message);
      return classified(FailureType.targetRejected, message);
    }

    async function login(): Promise<void> {
      const { username, password } = cfg().credentials;
      try {
        const result = await client.login(username, password);
        token = result.token;
        client.useToken(token);
      } catch (error) {
        if (error instanceof BigipHttpError && error.status === 401) {
          throw classified(FailureType.targetAuth, scrub(`${COMPONENT}: login as "${username}" was refused (HTTP 401: ${error.deviceMessage}). Check the user name and password.`));
        }
        if (error instanceof BigipHttpError && error.status === 400 && /maximum active login tokens/i.test(error.deviceMessage)) {
          throw classified(
            FailureType.deviceSessionBusy,
            `${COMPONENT}: user "${username}" already holds the maximum of 100 active REST tokens (F5 K44237337), held by other clients or leaked (BIG-IP 17.1.2.x bug ID1787517). Tokens expire after 20 minutes, or an administrator can delete them; CertFleet will retry.`,
            busyRetryAfterMs,
          );
        }
        throw toClassified(error, `login as "${username}"`);
      }
    }

    /** Logs in once per instance (lazily), runs the step and classifies its errors. A token the device no longer knows is renewed once. */
    async function step<T>(doing: string, work: () => Promise<T>): Promise<T> {
      if (closed) throw new Error(`${COMPONENT}: deployer used after close()`);
      cfg();
      if (!token) {
        loggingIn ??= login().finally(() => {
          loggingIn = undefined;
        });
        await loggingIn;
      }
      try {
        return await work();
      } catch (error) {
        if (error instanceof BigipHttpError && error.status === 401 && /auth-token does not exist/i.test(error.deviceMessage) && !renewed) {
          renewed = true;
          token = undefined;
          client.useToken(undefined);
          await login();
          try {
            return await work();
          } catch (again) {
            throw toClassified(again, doing);
          }
        }
        throw toClassified(error, doing);
      }
    }

    const restartable = (error: unknown): boolean =>
      (error instanceof BigipHttpError && error.status !== 401 && error.status !== 403) ||
      (error instanceof ClassifiedError && error.type === FailureType.targetUnreachable);

    /** Chunked upload; any failed chunk restarts the file from byte 0 (docs/vendors/f5-bigip.md). */
    async function upload(fileName: string, bytes: Buffer): Promise<string> {
      let lastError: unknown;
      for (let attempt = 1; attempt <= uploadAttempts; attempt++) {
        try {
          let localFilePath = `${DOWNLOADS}/${fileName}`;
          for (let start = 0; start < bytes.length; start += chunkSize) {
            const reply = await client.uploadChunk(fileName, bytes.subarray(start, start + chunkSize), start, bytes.length);
            localFilePath = reply.localFilePath;
          }
          return localFilePath;
        } catch (error) {
          if (!restartable(error)) throw error;
          lastError = error;
        }
      }
      throw lastError;
    }

    // Unique per upload: deploys of different leaves to one device share the chain object, and one
    // deploy's install-then-remove of a shared file name would pull it from under the other's install.
    const uploadName = (fullPath: string): string => `certfleet-${randomBytes(4).toString('hex')}${fullPath.replace(/\//g, '_')}`;

    async function removeUpload(localFilePath: string): Promise<void> {
      try {
        await client.removeUploadedFile(localFilePath);
      } catch {
        // Best effort: the file is in the device's REST downloads folder only.
      }
    }

    async function ensureCert(fullPath: string, pem: string, fingerprint: string): Promise<void> {
      const same = (found: { fingerprint?: string }): void => {
        if (found.fingerprint && fingerprintHex(found.fingerprint) !== fingerprint.toLowerCase()) {
          throw classified(
            FailureType.targetRejected,
            `${COMPONENT}: ssl-cert ${fullPath} already exists with another certificate (SHA-256 ${fingerprintHex(found.fingerprint).slice(0, 16)}…, expected ${fingerprint.slice(0, 16)}…); rename or remove it on the device`,
          );
        }
      };
      const existing = await client.getCert(fullPath);
      if (existing) return same(existing);
      const local = await upload(uploadName(fullPath), Buffer.from(pem));
      try {
        await client.installCert(fullPath, local);
      } catch (error) {
        // Installed by a concurrent or interrupted attempt: fine when it is the same certificate.
        const found = error instanceof BigipHttpError && error.status === 409 ? await client.getCert(fullPath) : undefined;
        if (!found) throw error;
        same(found);
      } finally {
        await removeUpload(local);
      }
    }

    /** A key object of this name belongs to this version's serial; the profile's key/cert match check guards the pair. */
    async function ensureKey(fullPath: string, keyPem: string): Promise<void> {
      if (await client.getKey(fullPath)) return;
      const local = await upload(uploadName(fullPath), Buffer.from(keyPem));
      try {
        await client.installKey(fullPath, local);
      } catch (error) {
        if (!(error instanceof BigipHttpError && error.status === 409 && (await client.getKey(fullPath)))) throw error;
      } finally {
        await removeUpload(local);
      }
    }

    const shortName = (profile: string): string => (profile.startsWith(`/${cfg().partition}/`) ? profile.slice(cfg().partition.length + 2) : profile);

    /** The current single cert-key-chain entry of each profile; refuses missing and multi-entry profiles. */
    async function readBinding(profiles: string[]): Promise<Binding> {
      const binding: Binding = new Map();
      for (const fullPath of profiles) {
        const profile = await client.getClientSslProfile(fullPath);
        if (!profile) throw classified(FailureType.targetRejected, `${COMPONENT}: client-ssl profile ${fullPath} does not exist`);
        const [entry, ...more] = profile.certKeyChain;
        if (!entry || more.length > 0 || !entry.cert || !entry.key) {
          throw classified(
            FailureType.targetRejected,
            `${COMPONENT}: client-ssl profile ${fullPath} has ${profile.certKeyChain.length} cert-key-chain entries; CertFleet replaces the certificate of profiles with exactly one`,
          );
        }
        binding.set(fullPath, entry);
      }
      return binding;
    }

    /** Binds every profile in one transaction: all or nothing (docs/vendors/f5-bigip.md). */
    async function bind(binding: Binding, what: string): Promise<void> {
      const transId = await client.createTransaction();
      try {
        for (const [profile, entry] of binding) await client.patchClientSslProfile(profile, { certKeyChain: [entry] }, transId);
      } catch (error) {
        await client.deleteTransaction(transId).catch(() => undefined);
        throw error;
      }
      const profiles = [...binding.keys()].map(shortName).join(', ');
      let state;
      try {
        state = await client.commitTransaction(transId);
      } catch (error) {
        if (error instanceof BigipHttpError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 403) {
          throw classified(FailureType.commitFailed, scrub(`${COMPONENT}: the device rejected binding ${what} to client-ssl ${profiles} (transaction ${transId}, nothing changed): ${error.deviceMessage}`));
        }
        throw error;
      }
      if (state.state && state.state !== 'COMPLETED') {
        throw classified(FailureType.commitFailed, scrub(`${COMPONENT}: transaction ${transId} binding ${what} to client-ssl ${profiles} ended ${state.state}: ${state.failureReason ?? 'no reason given'}`));
      }
    }

    async function persist(): Promise<void> {
      await client.saveConfig();
      const group = cfg().syncGroup;
      if (group) await client.configSyncToGroup(group);
    }

    return {
      async preflight(): Promise<PreflightReport> {
        return step('preflight', async () => {
          const { credentials, profiles, syncGroup } = cfg();
          const checks: PreflightCheck[] = [{ name: 'login', ok: true, detail: `REST token issued to ${credentials.username}` }];
          const version = await client.version();
          const firmware = [version.product, version.version, version.build && `Build ${version.build}`, version.edition].filter(Boolean).join(' ');
          checks.push({ name: 'firmware', ok: Boolean(version.version), detail: firmware });
          const changes: string[] = [];
          for (const fullPath of profiles) {
            const profile = await client.getClientSslProfile(fullPath);
            const name = `client-ssl ${shortName(fullPath)}`;
            if (!profile) {
              checks.push({ name, ok: false, detail: 'profile not found' });
              continue;
            }
            const [entry, ...more] = profile.certKeyChain;
            if (!entry || more.length > 0) {
              checks.push({ name, ok: false, detail: `${profile.certKeyChain.length} cert-key-chain entries; CertFleet binds profiles with exactly one` });
              continue;
            }
            checks.push({ name, ok: true, detail: `bound to ${entry.cert}${entry.chain ? ` with chain ${entry.chain}` : ''}` });
            changes.push(`${name}: ${entry.cert} → new certificate`);
          }
          if (profiles.length === 0) changes.push('no client-ssl profile chosen yet: link a certificate to this target to choose them');
          if (syncGroup) {
            const exists = await client.deviceGroupExists(syncGroup);
            checks.push({ name: 'device group', ok: exists, detail: exists ? `config-sync to ${syncGroup} after each change` : `device group ${syncGroup} not found` });
          }
          return { firmware, checks, changes };
        });
      },

      async stage(material: CertificateMaterial): Promise<StagedObjects> {
        const { partition } = cfg();
        const base = objectName(material.commonName, material.serialHex, NAME_RULES);
        const staged: StagedObjects = { cert: `/${partition}/${base}.crt`, key: `/${partition}/${base}.key` };
        let chain: { pem: string; fingerprint: string } | undefined;
        const [first] = material.chainPems;
        if (first) {
          const intermediate = new X509Certificate(first);
          const pem = `${material.chainPems.map((p) => p.trim()).join('\n')}\n`;
          // One intermediate: named after it (shared by every leaf it issued); a longer chain: after its content.
          const serial = material.chainPems.length === 1 ? intermediate.serialNumber : createHash('sha256').update(pem).digest('hex');
          staged['chain'] = `/${partition}/${objectName(commonNameOf(intermediate), serial, NAME_RULES)}.crt`;
          chain = { pem, fingerprint: intermediate.fingerprint256.replace(/:/g, '').toLowerCase() };
        }
        await step(`staging ${base}`, async () => {
          await ensureKey(`/${partition}/${base}.key`, material.keyPem);
          await ensureCert(`/${partition}/${base}.crt`, material.certPem, material.fingerprintSha256);
          if (chain && staged['chain']) await ensureCert(staged['chain'], chain.pem, chain.fingerprint);
        });
        return staged;
      },

      async activate(staged: StagedObjects): Promise<Activation> {
        const { cert, key, chain } = staged;
        if (!cert || !key) throw classified(FailureType.validation, `${COMPONENT}: staged objects name no cert and key`);
        if (cfg().profiles.length === 0) throw classified(FailureType.validation, `${COMPONENT}: no client-ssl profile chosen for this deployment`);
        const entry: BigipCertKeyChainEntry = { name: baseName(cert), cert, key, ...(chain ? { chain } : {}) };
        return step(`activating ${baseName(cert)}`, async () => {
          const current = await readBinding(cfg().profiles);
          await bind(new Map(cfg().profiles.map((p) => [p, entry])), baseName(cert));
          await persist();
          return { previous: toBindingState(current) };
        });
      },

      async activationStatus(): Promise<ActivationStatus> {
        return { state: 'done' }; // BIG-IP applies synchronously (activate never returns a job id).
      },

      async rollback(previous: BindingState): Promise<Activation> {
        const target = fromBindingState(previous);
        return step('rolling back', async () => {
          const current = await readBinding([...target.keys()]);
          await bind(target, 'the previous certificate');
          await persist();
          return { previous: toBindingState(current) };
        });
      },

      async removeSuperseded(keep: StagedObjects[], candidates: StagedObjects[]): Promise<string[]> {
        const kept = new Set(keep.flatMap((s) => Object.values(s)));
        const certs = unique(candidates.flatMap((s) => [s['cert'], s['chain']])).filter((n): n is string => Boolean(n) && !kept.has(n ?? ''));
        const keys = unique(candidates.map((s) => s['key'])).filter((n): n is string => Boolean(n) && !kept.has(n ?? ''));
        if (certs.length === 0 && keys.length === 0) return [];
        return step('removing superseded objects', async () => {
          const inUse = new Set((await client.listClientSslProfiles()).flatMap((p) => p.certKeyChain.flatMap((e) => [e.cert, e.key, e.chain ?? ''])));
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
          if (removed.length > 0) await persist();
          return removed;
        });
      },

      async close(): Promise<void> {
        if (closed) return;
        closed = true;
        try {
          if (token) await client.deleteToken(token);
        } catch {
          // The token expires on its own (20 minutes); nothing else to do.
        } finally {
          token = undefined;
          client.useToken(undefined);
          await http.close();
        }
      },
    };
  };
}

export const createBigipDeployer: DeployerFactory = createBigipDeployerWith();

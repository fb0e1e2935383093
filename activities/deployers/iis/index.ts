/**
 * The IIS deployer: Windows OpenSSH + PowerShell (docs/vendors/iis.md). The SSH session
 * (pinned host key, key or password login) and SFTP are the shared plumbing of ../ssh/; every
 * command is a PowerShell script sent as -EncodedCommand (./scripts.ts).
 *
 * stage     computes the SHA-1 thumbprint locally; when Cert:\LocalMachine\<store> already holds it
 *           with its private key, nothing is uploaded. Otherwise builds a PFX with a random password
 *           (3DES with legacyPfx, else AES-256), uploads it over SFTP to the upload directory, imports
 *           it with X509Certificate2 + MachineKeySet|PersistKeySet, and deletes the file (the script's
 *           `finally`, then over SFTP: also when the import fails). Returns {thumbprint, store}.
 * activate  reads each listed binding's certificate (the previous state), then replaces binding by
 *           binding: removes it and adds it again with the new hash, every sslFlags bit it had (plus
 *           bit 1 with "Require SNI") and its other attributes, never editing CertificateHash in place
 *           (win-acme #371, Certify #308: ./scripts.ts). When the new binding cannot be created, the
 *           script adds the old one back at once. All or nothing: when one binding fails, the
 *           deployer re-reads and restores the ones replaced before it, and
 *           whatever is still changed when a script dies half-way. The previous state is also saved
 *           next to the uploads, so a retried activation that finds the bindings switched already
 *           still returns what was there before.
 * rollback  sets the previous hashes (and flags) back, with the same all-or-nothing care.
 * removeSuperseded deletes certificates (and keys) by thumbprint, only when no https binding of
 *           any site uses them and CertFleet imported them (friendly name "CertFleet …"), and their
 *           saved previous-state copies.
 * preflight connects (shows the host key when none is pinned), reads PowerShell, Windows and IIS
 *           versions, administrator rights, the store, the bindings; changes nothing.
 *
 * StagedObjects and BindingState hold thumbprints, store names and binding names only.
 *
 * Modules: ./session.ts (SSH session, script runner), ./scripts.ts (the PowerShell scripts),
 * ./replies.ts (reading their replies), ./bindings.ts (binding reads, changes, restore, state),
 * ./upload.ts (SFTP), ./preflight.ts. The configuration is parsed once by the descriptor's typed
 * parsers (../config-check.ts); a target that does not parse gets a deployer whose every step
 * throws the VALIDATION error naming the bad fields.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { buildPfx } from '../../crypto/pem';
import { classified } from '../../errors';
import { checkDeployerConfig, refusingDeployer } from '../config-check';
import { checkKeyMatchesCertificate } from '../key-match';
import { SftpFiles } from '../ssh/remote-files';
import type { Activation, CertificateMaterial, Deployer, DeployerFactory, StagedObjects } from '../types';
import { learnWireSecret } from '../wire-transcript';
import {
  batches,
  commandFits,
  decodeState,
  encodeState,
  iisBindings,
  sameTarget,
  short,
  SSL_FLAG_CENTRAL_CERT_STORE,
  SSL_FLAG_SNI,
  stateKey,
  STORE_NAME,
  THUMBPRINT,
  centralStoreMessage,
  type ReadState,
} from './bindings';
import { IIS_STORES, iisParsers, siteBindingsIn } from './descriptor';
import { iisPreflight } from './preflight';
import { listOf, str } from './replies';
import type { BindingTarget, CertificateRef } from './scripts';
import { C, createIisSession } from './session';
import { putNewFile, sftpError, sftpPathOf } from './upload';

export { FIRST_BUILD_WITH_AES_PFX } from './preflight';
export { sftpPathOf } from './upload';

/** Windows' certificate thumbprint: SHA-1 of the DER certificate, uppercase hex. */
export function thumbprintOf(certPem: string): string {
  return createHash('sha1').update(new X509Certificate(certPem).raw).digest('hex').toUpperCase();
}

/** Friendly name of an imported version: what IIS Manager lists, and the mark removeSuperseded checks. */
export function friendlyNameOf(material: CertificateMaterial): string {
  const serial = material.serialHex.toLowerCase().replace(/^0+/, '').slice(-8) || '0';
  return `CertFleet ${material.commonName} ${new Date(material.notAfter).toISOString().slice(0, 10)} ${serial}`;
}

export const createIisDeployer: DeployerFactory = (ctx) => {
  const config = checkDeployerConfig(C, iisParsers, ctx);
  // Preflight lists the bindings it would change, so it needs the binding too.
  if (!config.targetValid) return refusingDeployer(config, ['preflight', 'stage', 'activate']);
  const { options, credentials: login } = config.target();
  const sites = config.binding ? siteBindingsIn(config.binding.sites) : [];

  const session = createIisSession(ctx.target, options, login);
  const { open, sftpOf, run } = session;
  const bindings = iisBindings(session, options.uploadDirectory);
  const { readBindings, missingMessage, targetOf, applyAll, savedPath, readSaved, save } = bindings;

  function stagedOf(staged: StagedObjects): CertificateRef {
    const thumbprint = (staged['thumbprint'] ?? '').toUpperCase();
    const store = staged['store'] ?? '';
    if (!THUMBPRINT.test(thumbprint) || !STORE_NAME.test(store)) {
      throw classified(
        FailureType.validation,
        `${C}: the staged objects (${JSON.stringify(staged)}) are not a thumbprint and a store; stage the version again`,
      );
    }
    return { thumbprint, store };
  }

  const deployer: Deployer = {
    async preflight() {
      const { binding } = config.all();
      return iisPreflight({ options, login, binding, sites, session, bindings });
    },

    async stage(material) {
      config.all();
      checkKeyMatchesCertificate(C, material, 'nothing was uploaded');
      const thumbprint = thumbprintOf(material.certPem);
      const store = options.store;
      const where = `Cert:\\LocalMachine\\${store}`;
      const check = await run(
        'stage-check',
        { thumbprint, store, uploadDirectory: options.uploadDirectory },
        `looking for ${thumbprint} in ${where}`,
      );
      if (check['present'] === true && check['hasPrivateKey'] === true) return { thumbprint, store };

      const ssh = await open();
      const sftp = await sftpOf(ssh);
      const password = randomBytes(24).toString('base64url');
      learnWireSecret(password);
      const friendlyName = friendlyNameOf(material);
      const pfx = buildPfx({
        keyPem: material.keyPem,
        certPem: material.certPem,
        chainPems: material.chainPems,
        password,
        friendlyName,
        algorithm: options.legacyPfx ? '3des' : 'aes256',
      });
      const windowsPath = `${options.uploadDirectory}\\certfleet-${randomBytes(8).toString('hex')}.pfx`;
      const path = sftpPathOf(windowsPath);
      try {
        try {
          await putNewFile(sftp, path, pfx);
        } catch (error) {
          throw sftpError(`uploading the PFX to ${windowsPath}`, error);
        }
        const reply = await run(
          'import',
          { path: windowsPath, password, store, thumbprint, friendlyName, chain: material.chainPems.length },
          `importing ${thumbprint} into ${where}`,
          [password],
        );
        if (str(reply, 'thumbprint').toUpperCase() !== thumbprint || reply['hasPrivateKey'] !== true) {
          throw classified(
            FailureType.targetRejected,
            `${C}: the import into ${where} reported ${str(reply, 'thumbprint') || 'no thumbprint'} (private key: ${String(reply['hasPrivateKey'])}), expected ${thumbprint} with its key`,
          );
        }
      } finally {
        // The script deletes the file in its `finally`; this covers a script that never ran or died.
        await new SftpFiles(sftp, ssh, C).remove(path).catch(() => false);
      }
      return { thumbprint, store };
    },

    async activate(staged, hooks): Promise<Activation> {
      const { binding } = config.all();
      const target = stagedOf(staged);
      const read = await readBindings(sites, [target]);
      const missing = missingMessage(sites, read.states, read.sites);
      if (missing) throw classified(FailureType.targetRejected, `${C}: ${missing}`);
      const cert = read.certificates[0];
      const where = `Cert:\\LocalMachine\\${target.store}`;
      if (!cert?.present)
        throw classified(
          FailureType.targetRejected,
          `${C}: certificate ${target.thumbprint} is not in ${where}; stage the version again`,
        );
      if (!cert.hasPrivateKey)
        throw classified(
          FailureType.targetRejected,
          `${C}: certificate ${target.thumbprint} in ${where} has no private key; delete it and stage the version again`,
        );

      const central = sites.filter((_, i) => ((read.states[i]?.sslFlags ?? 0) & SSL_FLAG_CENTRAL_CERT_STORE) !== 0);
      if (central.length > 0)
        throw classified(FailureType.targetRejected, `${C}: ${centralStoreMessage(central)} Nothing was changed.`);
      const current = sites.map((site, i) => targetOf(site, read.states[i] as ReadState));
      // Every sslFlags bit the binding has is kept (the replacement carries it); "Require SNI" only adds bit 1.
      const desired = current.map((c) => ({
        ...c,
        hash: target.thumbprint,
        store: target.store,
        sslFlags: binding.sni ? c.sslFlags | SSL_FLAG_SNI : c.sslFlags,
      }));
      const ssh = await open();
      // Bindings already on the new certificate: a retry after a switch whose result was lost.
      const onNew = current.some((c) => c.hash === target.thumbprint);
      const saved = onNew ? await readSaved(ssh, target.thumbprint) : new Map<string, BindingTarget>();
      const previous = current.map((c) => (c.hash === target.thumbprint ? (saved.get(stateKey(c)) ?? c) : c));
      if (desired.every((d, i) => current[i] !== undefined && sameTarget(d, current[i])))
        return { previous: encodeState(previous) };
      await hooks?.beforeChange?.(encodeState(previous));
      await save(ssh, target.thumbprint, previous);
      await applyAll(desired, current, `the new certificate ${short(target.thumbprint)}`);
      return { previous: encodeState(previous) };
    },

    async activationStatus() {
      return { state: 'done' };
    },

    async rollback(previous): Promise<Activation> {
      const targets = decodeState(previous);
      if (targets.length === 0) return { previous: {} };
      const wanted = [
        ...new Map(
          targets.filter((t) => t.hash).map((t) => [`${t.store}\\${t.hash}`, { store: t.store, thumbprint: t.hash }]),
        ).values(),
      ];
      const read = await readBindings(targets, wanted);
      const missing = missingMessage(targets, read.states, read.sites);
      if (missing) throw classified(FailureType.targetRejected, `${C}: cannot roll back: ${missing}`);
      const gone = read.certificates.filter((c) => !c.present || !c.hasPrivateKey);
      if (gone.length > 0) {
        throw classified(
          FailureType.targetRejected,
          `${C}: cannot roll back: ${gone.map((c) => `${c.thumbprint} is ${c.present ? 'without its private key' : 'no longer'} in Cert:\\LocalMachine\\${c.store}`).join('; ')}`,
        );
      }
      const current = targets.map((t, i) => targetOf(t, read.states[i] as ReadState));
      await applyAll(targets, current, 'the previous certificates');
      return { previous: encodeState(current) };
    },

    async removeSuperseded(keep, candidates) {
      const kept = new Set(keep.map((s) => (s['thumbprint'] ?? '').toUpperCase()));
      const byStore = new Map<string, Set<string>>();
      for (const candidate of candidates) {
        const thumbprint = (candidate['thumbprint'] ?? '').toUpperCase();
        const store = IIS_STORES.find((s) => s.toLowerCase() === (candidate['store'] ?? '').toLowerCase());
        if (!THUMBPRINT.test(thumbprint) || !store || kept.has(thumbprint)) continue;
        byStore.set(store, (byStore.get(store) ?? new Set<string>()).add(thumbprint));
      }
      const removed: string[] = [];
      for (const [store, set] of byStore) {
        const what = `removing superseded certificates from Cert:\\LocalMachine\\${store}`;
        for (const part of batches(
          [...set],
          (batch) => commandFits('remove-certificates', { store, thumbprints: batch }),
          what,
        )) {
          const reply = await run('remove-certificates', { store, thumbprints: part }, what);
          removed.push(
            ...listOf(reply['removed'])
              .filter((v): v is string => typeof v === 'string')
              .map((v) => v.toUpperCase()),
          );
        }
      }
      if (removed.length > 0) {
        // Their saved previous-binding copies are of no use any more (best effort).
        const ssh = await open();
        const files = new SftpFiles(await sftpOf(ssh), ssh, C);
        for (const thumbprint of removed) await files.remove(savedPath(thumbprint)).catch(() => false);
      }
      return removed;
    },

    close: () => session.close(),
  };
  return deployer;
};

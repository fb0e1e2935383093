/**
 * PAN-OS deployer (docs/vendors/panos.md): import the version under a new name derived from it, point
 * the SSL/TLS service profiles (and optionally the management interface) at it, and commit only the
 * API admin's changes; for a Panorama template, push the template or stack to its firewalls.
 *
 * - stage: one certificate file with the leaf and its intermediates, then the private key as plain
 *   PEM with a dummy passphrase (as acme.sh's `panos` hook sends them), parameters in the query
 *   string; both replies are checked and the candidate object is read back (a cert/key mismatch is
 *   never caught by the device, acme.sh #4716).
 * - activate/rollback: locks read first (another admin's lock: DEVICE_SESSION_BUSY), `set` each
 *   profile's `<certificate>`, partial commit, push for templates; the handle is polled through
 *   activationStatus (commit.ts).
 * Modules: descriptor (typed config), xpaths, api-key, bindings, commit, preflight, failures, client.
 */
import { randomBytes } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { keyMatchesCertificate } from '../../crypto/pem';
import { classified } from '../../errors';
import { checkDeployerConfig } from '../config-check';
import { createDeviceHttp } from '../device-http';
import { objectName } from '../naming';
import type {
  ActivateHooks,
  Activation,
  BindingState,
  CertificateMaterial,
  DeployerFactory,
  PreflightReport,
  StagedObjects,
} from '../types';
import { learnWireSecret } from '../wire-transcript';
import { createPanosKeySession } from './api-key';
import { ADMIN_GUI_KEY, createPanosBindings } from './bindings';
import { PanosClient, type PanReply } from './client';
import { createPanosCommitter } from './commit';
import { PANOS_OBJECT_NAME, panosParsers } from './descriptor';
import { describeReply, ensureSuccess, failureOf } from './failures';
import { panosPreflight } from './preflight';
import { certificateXpath, panosNameRules, scopeOf, type PanosScope } from './xpaths';

export { describeReply, failureOf } from './failures';
export { panosNameRules } from './xpaths';

/** acme.sh sends the unencrypted key with a dummy passphrase (docs/vendors/panos.md "Private key"). */
const dummyPassphrase = (): string => `certfleet-${randomBytes(6).toString('hex')}`;

export const createPanosDeployer: DeployerFactory = (ctx) => {
  const http = createDeviceHttp(ctx.target, 'panos');
  const client = new PanosClient(http);
  const config = checkDeployerConfig('panos', panosParsers, ctx);
  const credentials = () => config.target().credentials;
  const options = () => config.target().options;
  const scope = (): PanosScope => scopeOf(options());
  const session = createPanosKeySession(client, credentials, ctx.sessionKey);
  const committer = createPanosCommitter(client, session, () => credentials().username, scope);
  const bindings = createPanosBindings(client, session, scope);

  /** The profiles (and the admin GUI) a binding changes, each with the certificate or profile to set. */
  const bindingTargets = (certificate: string): [string, string][] => {
    const { binding } = config.all();
    const targets: [string, string][] = binding.profiles.map((p) => [p, certificate]);
    const first = binding.profiles[0];
    if (binding.adminGui && first) {
      if (scope().push)
        throw classified(
          FailureType.validation,
          'panos: the admin GUI binding is for the firewall and panorama kinds, not for a template',
        );
      targets.push([ADMIN_GUI_KEY, first]);
    }
    return targets;
  };

  const importFile = async (
    category: 'certificate' | 'private-key',
    name: string,
    content: string,
    passphrase?: string,
  ): Promise<PanReply> =>
    (
      await session.keyed(async (key) => ({
        reply: await client.importFile(key, {
          category,
          certificateName: name,
          format: 'pem',
          target: scope().importTarget,
          ...(passphrase ? { passphrase } : {}),
          fileName: category === 'certificate' ? `${name}.pem` : `${name}.key`,
          content,
        }),
      }))
    ).reply;

  /** Binds, then commits (and pushes): the previous state and the handle to poll. */
  const bindAndCommit = async (
    action: string,
    targets: [string, string][],
    hooks?: ActivateHooks,
  ): Promise<Activation> => {
    await committer.ensureUnlocked(action); // before changing anything: another admin's lock is a wait, not a half-made change
    const previous = await bindings.bind(targets, hooks);
    const jobId = await committer.commit(action);
    return { previous, ...(jobId ? { jobId } : {}) };
  };

  return {
    preflight(): Promise<PreflightReport> {
      const { credentials: creds, options: opts } = config.target();
      return panosPreflight({
        client,
        session,
        bindings,
        committer,
        credentials: creds,
        options: opts,
        scope: scope(),
        ...(config.binding ? { binding: config.binding } : {}),
        bindingErrors: config.bindingErrors,
      });
    },

    async stage(material: CertificateMaterial): Promise<StagedObjects> {
      const where = scope();
      if (!keyMatchesCertificate(material.keyPem, material.certPem)) {
        throw classified(
          FailureType.validation,
          `panos: the private key of version ${material.versionId} does not belong to its certificate; nothing was imported`,
        );
      }
      const name = objectName(material.commonName, material.serialHex, panosNameRules(where.onPanorama));
      const staged: StagedObjects = { cert: name };
      const existing = await bindings.readCertificate(name);
      const certificateThere = existing?.fingerprint === material.fingerprintSha256;
      if (certificateThere && existing?.hasKey) return staged;

      // One file: the leaf, then its intermediates (acme.sh uploads the full chain; Palo Alto KB
      // "How to Install a Chained Certificate Signed by a Public CA"). The device serves that chain.
      if (!certificateThere) {
        const file = [material.certPem, ...material.chainPems].map((pem) => `${pem.trim()}\n`).join('');
        ensureSuccess(`import certificate ${name} into ${where.label}`, await importFile('certificate', name, file));
      }
      const passphrase = dummyPassphrase();
      learnWireSecret(passphrase);
      const keyReply = await importFile('private-key', name, material.keyPem, passphrase);
      if (keyReply.status !== 'success') {
        const cause = failureOf(`import private key ${name}`, keyReply);
        throw classified(
          cause.type,
          `panos: the certificate was imported as ${name} but its private key was refused (${describeReply(keyReply)}); nothing was bound, a retry imports the key again`,
        );
      }

      // acme.sh #4716 (docs/vendors/panos.md): the device never checks that the pair matches, so read the object back.
      const object = await bindings.readCertificate(name);
      if (object?.fingerprint !== material.fingerprintSha256 || !object.hasKey) {
        const state = !object
          ? `is missing at ${certificateXpath(where, name)}`
          : object.fingerprint !== material.fingerprintSha256
            ? 'holds another certificate'
            : 'has no private key';
        throw classified(
          FailureType.targetRejected,
          `panos: both imports of ${name} reported success but the candidate object ${state}; nothing was bound`,
        );
      }
      return staged;
    },

    async activate(staged: StagedObjects, hooks?: ActivateHooks): Promise<Activation> {
      const name = staged['cert'];
      if (!name || !PANOS_OBJECT_NAME.test(name))
        throw classified(FailureType.validation, 'panos: nothing staged to activate (no certificate name)');
      const targets = bindingTargets(name);
      const object = await bindings.readCertificate(name);
      if (!object?.hasKey)
        throw classified(
          FailureType.targetRejected,
          `panos: certificate ${name} ${object ? 'has no private key' : `is not in ${scope().label}`}; stage the version again`,
        );
      return bindAndCommit('activate', targets, hooks);
    },

    activationStatus: (handle) => committer.status(handle),

    async rollback(previous: BindingState): Promise<Activation> {
      const targets = Object.entries(previous);
      if (targets.length === 0) return { previous: {} };
      // Profiles first, the admin GUI last: it must never name a profile that is not bound yet.
      targets.sort(([a], [b]) => Number(a === ADMIN_GUI_KEY) - Number(b === ADMIN_GUI_KEY));
      return bindAndCommit('rollback', targets);
    },

    async removeSuperseded(keep: StagedObjects[], candidates: StagedObjects[]): Promise<string[]> {
      const kept = new Set(keep.flatMap((o) => Object.values(o)));
      const wanted = [...new Set(candidates.flatMap((o) => Object.values(o)))].filter(
        (n) => !kept.has(n) && PANOS_OBJECT_NAME.test(n),
      );
      if (wanted.length === 0) return [];
      const existing = await bindings.readCertificates();
      const present = wanted.filter((n) => existing.has(n));
      if (present.length === 0) return [];
      const referenced = await bindings.referencedCertificates(); // never delete what a profile references
      const removed: string[] = [];
      for (const name of present.filter((n) => !referenced.has(n))) {
        const { reply } = await session.keyed(async (key) => ({
          reply: await client.deleteConfig(key, certificateXpath(scope(), name)),
        }));
        if (reply.status === 'success') removed.push(name);
        else if (!/references? from/i.test(describeReply(reply))) throw failureOf(`delete certificate ${name}`, reply);
      }
      if (removed.length === 0) return [];
      // Committed on the device (on Panorama for a template); the next deploy's push carries the removal to the firewalls.
      const handle = await committer.commit('remove superseded certificates', { push: false });
      if (handle) await committer.wait(handle);
      return removed;
    },

    async close(): Promise<void> {
      await http.close();
    },
  };
};

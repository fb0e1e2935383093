/**
 * FortiGate deployer: import under a new name per version → rebind → delete superseded objects
 * (docs/vendors/fortigate.md). FortiOS applies CMDB writes at once: no commit job.
 *
 * Staged objects: `cert` (the local certificate) and `ca0`, `ca1`, … (intermediates in the CA store,
 * which FortiOS uses to build the chain it serves). Binding state (one key per slot, binding-slots.ts):
 * `adminGui` (system global `admin-server-cert`), `sslVpn` (`vpn.ssl/settings` `servercert`),
 * `authPortal` (`user/setting` `auth-cert`), `ipsec:<phase-1 name>` (`certificate`) and
 * `vip:<VIP name>` (`ssl-certificate`), each the certificate bound before ('' for none).
 */
import { X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import { checkDeployerConfig } from '../config-check';
import { createDeviceHttp } from '../device-http';
import { objectName, type NameRules } from '../naming';
import type { Activation, BindingState, Deployer, DeployerFactory, PreflightCheck, StagedObjects } from '../types';
import { bind, type WantedBinding } from './bind';
import { createSlot, slotKeysOf, vipEndpointsOf, type BindingSlot, type SlotContext } from './binding-slots';
import { createCertificateStore, fingerprint, type StoredCert } from './certificate-store';
import { FortiGateClient, type FortiResponse } from './client';
import { fortigateParsers } from './descriptor';
import { codeOf, COMPONENT, fortigateFailure, ok, referencedName, resultList } from './failures';

export { describeFortiOsError, fortigateFailure, referencedName } from './failures';

/** FortiOS object names: scripts keep them to 35 characters (docs/vendors/fortigate.md). */
export const FORTIGATE_NAME_RULES: NameRules = { maxLength: 35, allowed: /[A-Za-z0-9_.-]/ };

/** A binding input that names nothing (no deployment yet: "Test connection"). */
const namesNothing = (input: Record<string, unknown>): boolean =>
  Object.values(input).every(
    (v) => v === undefined || v === null || v === false || v === '' || (Array.isArray(v) && v.length === 0),
  );

export const createFortiGateDeployer: DeployerFactory = (ctx) => {
  const config = checkDeployerConfig(COMPONENT, fortigateParsers, ctx);
  /** Enough to talk to the device; the values are only read after config.target() or all() passed. */
  const parsedTarget = config.targetValid ? config.target() : undefined;
  const vdom = parsedTarget?.options.vdom ?? 'root';
  const binding = config.binding;

  const http = createDeviceHttp(ctx.target, COMPONENT);
  const client = new FortiGateClient(http, { token: parsedTarget?.credentials.token ?? '', vdom });
  /** Certificates that serve the admin GUI must live in the global store (docs/vendors/fortigate.md). */
  const store = createCertificateStore(client, { vdom, scope: binding?.adminGui ? 'global' : 'vdom' });

  const slotContext = (): SlotContext => ({
    client,
    vdom,
    options: config.target().options,
    vipEndpoints: vipEndpointsOf(binding?.vipEndpoints ?? []),
  });
  const slotOf = (key: string): BindingSlot => {
    const slot = createSlot(key, slotContext());
    if (!slot)
      throw classified(
        FailureType.validation,
        `${COMPONENT}: the recorded binding names "${key}", which this version does not know`,
      );
    return slot;
  };

  async function adminServerCert(): Promise<string> {
    const r = await client.getSettings('system/global');
    if (!ok(r)) throw fortigateFailure(r, 'read system global settings', 'read');
    return referencedName(resultList(r.envelope)[0]?.['admin-server-cert']) ?? '';
  }

  /** Every certificate the slots this deployment knows of name now (never deleted). */
  async function boundNames(): Promise<Set<string>> {
    const bound = new Set<string>([await adminServerCert()]);
    const keys = new Set(['sslVpn', 'authPortal', ...(binding ? slotKeysOf(binding) : [])]);
    for (const key of keys) {
      if (key === 'adminGui') continue;
      try {
        const reading = await slotOf(key).read();
        for (const name of reading.current.split(', ')) if (name) bound.add(name);
      } catch {
        // A slot we cannot read (permission, absent): the device itself refuses to delete what is in use.
      }
    }
    return bound;
  }

  const deployer: Deployer = {
    async preflight() {
      config.target();
      const checks: PreflightCheck[] = [];
      const changes: string[] = [];
      const trustDetail =
        'caPem' in ctx.target.trust ? 'verified against the configured CA' : 'matches the pinned SHA-256 fingerprint';
      checks.push({
        name: 'management TLS',
        ok: true,
        detail: `the management certificate of ${ctx.target.host}:${ctx.target.port} ${trustDetail}`,
      });

      const global = await client.getSettings('system/global');
      if (global.status === 404) {
        checks.push({
          name: 'VDOM',
          ok: false,
          detail: `VDOM "${vdom}" was not found (system global answered 404). Check the VDOM option.`,
        });
        return { checks, changes };
      }
      if (!ok(global)) throw fortigateFailure(global, 'read system global settings', 'read');
      checks.push({ name: 'API token', ok: true, detail: `accepted; VDOM ${vdom} readable` });
      const env = global.envelope;
      const firmware = env?.version
        ? `FortiOS ${env.version}${env.build !== undefined ? ` build ${env.build}` : ''}`
        : undefined;
      checks.push({
        name: 'firmware',
        ok: firmware !== undefined,
        detail: firmware ?? 'the device did not report its version',
      });

      const keys = binding ? slotKeysOf(binding) : [];
      if (!binding && !namesNothing(ctx.binding)) {
        const errors = Object.entries(config.bindingErrors).map(([k, v]) => `${k}: ${v}`);
        checks.push({
          name: 'bindings',
          ok: false,
          detail: `the deployment's binding is invalid: ${errors.join('; ')}`,
        });
      } else if (!binding) {
        checks.push({
          name: 'bindings',
          ok: true,
          detail: 'no deployment names a service yet: a deploy would change nothing',
        });
      }
      for (const key of keys) {
        const slot = slotOf(key);
        const reading = await slot.read();
        const name = key === 'adminGui' ? 'admin GUI binding' : key === 'sslVpn' ? 'SSL-VPN' : slot.label;
        const problem = reading.problem ?? reading.verifyProblem;
        const current = `${key === 'adminGui' ? 'admin-server-cert' : 'certificate'} is ${reading.current || '(none)'}`;
        checks.push({
          name,
          ok: problem === undefined,
          detail: problem ?? `${current}${reading.facts ? `; ${reading.facts}` : ''}`,
        });
        if (reading.offered && reading.problem === undefined)
          changes.push(`${slot.label}: ${reading.current || '(none)'} → new certificate`);
      }
      if (!keys.includes('sslVpn')) {
        // Says which bindings the firmware offers, also when SSL-VPN is not part of this binding.
        const reading = await slotOf('sslVpn').read();
        checks.push({
          name: 'SSL-VPN',
          ok: true,
          detail: reading.offered
            ? `available, servercert ${reading.current || '(none)'} (not part of this binding)`
            : 'not available on this firmware/model (not part of this binding)',
        });
      }

      const locals = await store.listLocal();
      checks.push({
        name: 'certificate store',
        ok: true,
        detail: `${locals.filter((c) => !c.name.startsWith('Fortinet_')).length} user certificate(s) visible in VDOM ${vdom}`,
      });
      return { ...(firmware ? { firmware } : {}), checks, changes };
    },

    async stage(material) {
      config.all();
      const name = objectName(material.commonName, material.serialHex, FORTIGATE_NAME_RULES);
      const wanted = fingerprint(material.certPem);
      const staged: StagedObjects = {};
      const existing = await store.getLocal(name);
      if (existing) {
        // A retry: reuse the object when it holds this certificate (a firmware without the PEM in the
        // CMDB answer leaves only the name, which carries the serial).
        if (existing.fingerprint !== undefined && existing.fingerprint !== wanted) {
          throw classified(
            FailureType.targetRejected,
            `${COMPONENT}: a different certificate is already named ${name} on the device; it was left alone. Rename or delete it, then retry.`,
          );
        }
        staged['cert'] = name;
      } else {
        staged['cert'] = await store.importLeaf(name, material.certPem, material.keyPem);
      }
      let known: StoredCert[] | undefined;
      for (const [index, pem] of material.chainPems.entries()) {
        const result = await store.ensureCa(pem, known ?? (known = await store.listCas()));
        // Unidentifiable CA objects are left out: they are then never deleted by removeSuperseded.
        if (result.name) staged[`ca${index}`] = result.name;
        known = result.known;
      }
      return staged;
    },

    async activate(staged, hooks) {
      const { binding: wantedBinding } = config.all();
      const name = staged['cert'];
      if (!name)
        throw classified(FailureType.validation, `${COMPONENT}: nothing staged to activate (no "cert" object)`);
      const wanted: WantedBinding[] = slotKeysOf(wantedBinding).map((key) => ({
        slot: slotOf(key),
        certificate: name,
      }));
      return { previous: await bind(wanted, hooks) };
    },

    async activationStatus() {
      return { state: 'done' };
    },

    async rollback(previous: BindingState): Promise<Activation> {
      config.target();
      // A slot that had no certificate before is left as it is (there is nothing to put back).
      const wanted: WantedBinding[] = Object.entries(previous)
        .filter(([, certificate]) => certificate !== '')
        .map(([key, certificate]) => ({ slot: slotOf(key), certificate }));
      return { previous: await bind(wanted) };
    },

    async removeSuperseded(keep, candidates) {
      config.target();
      const kept = new Set(keep.flatMap((s) => Object.values(s)));
      const bound = await boundNames();
      const locals = await store.listLocal();
      const cas = await store.listCas();
      const localNames = new Set(locals.map((c) => c.name));
      const caNames = new Set(cas.map((c) => c.name));
      const deleted: string[] = [];
      const refused = (r: FortiResponse): boolean => codeOf(r) !== undefined && r.status !== 401 && r.status !== 403;

      const certCandidates = new Set(candidates.map((s) => s['cert']).filter((n): n is string => !!n));
      for (const name of certCandidates) {
        if (kept.has(name) || bound.has(name) || !localNames.has(name)) continue;
        const r = await client.deleteLocalCertificate(name);
        if (ok(r)) deleted.push(name);
        else if (r.status === 404 || refused(r))
          continue; // gone already, or still used by something else: leave it
        else throw fortigateFailure(r, `delete certificate ${name}`, 'delete');
      }

      // A CA goes only when no kept version names it and no certificate left on the device chains to it.
      const remaining = locals.filter((c) => !deleted.includes(c.name));
      const leaves = remaining.map((c) => (c.pem ? new X509Certificate(c.pem) : undefined));
      const chainsTo = (ca: StoredCert): boolean => {
        if (!ca.pem || leaves.some((leaf) => leaf === undefined)) return true; // cannot tell: keep it
        const x509 = new X509Certificate(ca.pem);
        return leaves.some((leaf) => leaf !== undefined && leaf.checkIssued(x509) && leaf.verify(x509.publicKey));
      };
      const caCandidates = new Set(
        candidates.flatMap((s) =>
          Object.entries(s)
            .filter(([key]) => /^ca\d+$/.test(key))
            .map(([, name]) => name),
        ),
      );
      for (const name of caCandidates) {
        const ca = cas.find((c) => c.name === name);
        if (kept.has(name) || !caNames.has(name) || !ca || chainsTo(ca)) continue;
        const r = await client.deleteCaCertificate(name);
        if (ok(r)) deleted.push(name);
        else if (r.status === 404 || refused(r)) continue;
        else throw fortigateFailure(r, `delete CA certificate ${name}`, 'delete');
      }
      return deleted;
    },

    close: () => http.close(),
  };
  return deployer;
};

/**
 * The FortiGate certificate stores (local certificates and the CA store): list, find by fingerprint,
 * import idempotently, delete what no one uses. Facts and sources: docs/vendors/fortigate.md
 * ("The calls, in order": stage, remove superseded).
 */
import { X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { FortiGateClient, FortiResponse } from './client';
import { codeOf, COMPONENT, describeFortiOsError, expectOk, fortigateFailure, ok, resultList } from './failures';

export const fingerprint = (pem: string): string =>
  new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

function fingerprintOrUndefined(pem: unknown): string | undefined {
  if (typeof pem !== 'string' || !pem.includes('BEGIN CERTIFICATE')) return undefined;
  try {
    return fingerprint(pem);
  } catch {
    return undefined;
  }
}

export interface StoredCert {
  name: string;
  /** Undefined when the firmware does not return the PEM. */
  fingerprint?: string;
  pem?: string;
}

function stored(item: Record<string, unknown>, pemFields: string[]): StoredCert | undefined {
  const name = typeof item['name'] === 'string' ? item['name'] : undefined;
  if (!name) return undefined;
  const field = pemFields.find((f) => typeof item[f] === 'string');
  const pem = field ? (item[field] as string) : undefined;
  const fp = fingerprintOrUndefined(pem);
  return { name, ...(fp ? { fingerprint: fp } : {}), ...(pem && fp ? { pem } : {}) };
}

/** Local certificates keep their PEM in `certificate`. */
const storedLocal = (item: Record<string, unknown>): StoredCert | undefined => stored(item, ['certificate']);
/** CA objects keep their PEM in `ca` (CLI `set ca`); `certificate` is accepted as well (ASSUMPTION F1). */
const storedCa = (item: Record<string, unknown>): StoredCert | undefined => stored(item, ['ca', 'certificate']);

type Encoding = 'pem' | 'der';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** file_content: base64 of the PEM file (acme.sh) or of the DER leaf (7.6.6, caddy-forticertsync). */
const certContent = (pem: string, encoding: Encoding): string =>
  encoding === 'pem' ? b64(pem) : new X509Certificate(pem).raw.toString('base64');
/** key_file_content: base64 of the PEM file, or the PEM body without its armour lines (= base64 DER). */
const keyContent = (pem: string, encoding: Encoding): string =>
  encoding === 'pem'
    ? b64(pem)
    : pem
        .split(/\r?\n/)
        .filter((line) => line.trim() !== '' && !line.startsWith('-----') && !/^[A-Za-z-]+:/.test(line))
        .join('');

export const subjectOf = (pem: string): string => {
  try {
    return (new X509Certificate(pem).subject ?? '').replace(/\n/g, ', ') || 'the CA certificate';
  } catch {
    return 'the CA certificate';
  }
};

export interface CertificateStore {
  listLocal(): Promise<StoredCert[]>;
  listCas(): Promise<StoredCert[]>;
  getLocal(name: string): Promise<StoredCert | undefined>;
  /** Imports the leaf and key under `name`; returns the name of the object holding this certificate. */
  importLeaf(name: string, certPem: string, keyPem: string): Promise<string>;
  /**
   * Makes sure the CA store holds `pem`; returns the CA object's name (FortiOS names it itself), or
   * undefined when the firmware lists CA objects without their PEM, so ours cannot be told apart.
   */
  ensureCa(pem: string, known: StoredCert[]): Promise<{ name?: string; known: StoredCert[] }>;
}

export function createCertificateStore(
  client: FortiGateClient,
  where: { vdom: string; scope: 'global' | 'vdom' },
): CertificateStore {
  const { vdom, scope } = where;
  let encoding: Encoding = 'pem';

  /** Sends an import; on -145 switches to base64 DER once (docs/vendors/fortigate.md) and resends. */
  async function importWithFallback(send: (encoding: Encoding) => Promise<FortiResponse>): Promise<FortiResponse> {
    const first = await send(encoding);
    if (codeOf(first) !== -145 || encoding === 'der') return first;
    encoding = 'der';
    return send(encoding);
  }

  const store: CertificateStore = {
    async listLocal() {
      const r = await expectOk(client.listLocalCertificates(), `list local certificates in VDOM ${vdom}`, 'read');
      return resultList(r.envelope)
        .map(storedLocal)
        .filter((c): c is StoredCert => c !== undefined);
    },

    async listCas() {
      const r = await expectOk(client.listCaCertificates(), `list CA certificates in VDOM ${vdom}`, 'read');
      return resultList(r.envelope)
        .map(storedCa)
        .filter((c): c is StoredCert => c !== undefined);
    },

    async getLocal(name) {
      const r = await client.getLocalCertificate(name);
      if (r.status === 404) return undefined;
      if (!ok(r)) throw fortigateFailure(r, `read certificate ${name}`, 'read');
      const item = resultList(r.envelope)[0];
      return item ? storedLocal(item) : undefined;
    },

    async importLeaf(name, certPem, keyPem) {
      const wanted = fingerprint(certPem);
      const r = await importWithFallback((enc) =>
        client.importLocalCertificate({
          type: 'regular',
          certname: name,
          scope,
          file_content: certContent(certPem, enc),
          key_file_content: keyContent(keyPem, enc),
        }),
      );
      if (ok(r)) return name;
      const code = codeOf(r);
      if (code === -23) {
        // FortiOS refuses identical content under any name (docs/vendors/fortigate.md): reuse it once we see it is ours.
        const same = (await store.listLocal()).find((c) => c.fingerprint === wanted);
        if (same) return same.name;
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: import certificate ${name}: ${describeFortiOsError(-23, 'import')} (error -23), but no certificate visible in VDOM ${vdom} has this content. Delete the other copy or deploy through its VDOM.`,
        );
      }
      if (code === -5) {
        // The name was taken meanwhile (a concurrent attempt): fine if it holds this very certificate.
        const existing = await store.getLocal(name);
        if (existing && (existing.fingerprint === undefined || existing.fingerprint === wanted)) return name;
      }
      throw fortigateFailure(r, `import certificate ${name}`, 'import');
    },

    async ensureCa(pem, known) {
      const wanted = fingerprint(pem);
      const present = known.find((c) => c.fingerprint === wanted);
      if (present) return { name: present.name, known };
      const r = await importWithFallback((enc) =>
        client.importCaCertificate({ import_method: 'file', scope, file_content: certContent(pem, enc) }),
      );
      if (!ok(r) && codeOf(r) !== -328)
        throw fortigateFailure(r, `import CA certificate ${subjectOf(pem)}`, 'ca-import');
      const refreshed = await store.listCas();
      const found = refreshed.find((c) => c.fingerprint === wanted);
      if (!found && refreshed.some((c) => c.fingerprint === undefined)) return { known: refreshed };
      if (!found) {
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: the CA certificate ${subjectOf(pem)} was ${ok(r) ? 'imported' : 'reported as present (error -328)'} but is not listed in VDOM ${vdom}`,
        );
      }
      return { name: found.name, known: refreshed };
    },
  };
  return store;
}

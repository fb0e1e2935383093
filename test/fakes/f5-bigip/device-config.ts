/**
 * The fake BIG-IP's configuration: ssl-cert / ssl-key file objects, client-ssl profiles and the
 * files under /var/config/rest/downloads. Cloneable, so a request (or a whole transaction) is applied
 * to a copy, validated, and only then swapped in: a rejected change leaves nothing half-applied.
 *
 * Sources: see the header of server.ts and docs/vendors/f5-bigip.md; object JSON shapes follow the ssl-cert fixture in
 * F5Networks/terraform-provider-bigip (bigip/resource_bigip_ssl_certificate_test.go); error texts are
 * the device's where a public source quotes them, otherwise marked GUESS.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  X509Certificate,
  type KeyObject as NodeKeyObject,
} from 'node:crypto';

export const DOWNLOADS = '/var/config/rest/downloads';
export const VERSION_QUERY = (version: string): string => `?ver=${version}`;

/** An iControl REST error. `tm` endpoints answer with the tmsh envelope, `/mgmt/shared` ones with restjavad's. */
export class F5Error extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly style: 'tm' | 'rest' = 'tm',
  ) {
    super(message);
  }
}

export interface CertFile {
  fullPath: string;
  pem: string;
  createdAt: Date;
  updatedAt: Date;
  revision: number;
  sourcePath?: string;
}

export interface KeyFile {
  fullPath: string;
  /** Unencrypted PEM (the fake never returns it). */
  pem: string;
  createdAt: Date;
  updatedAt: Date;
  revision: number;
}

export interface KeyChainEntry {
  name: string;
  cert: string;
  key: string;
  chain?: string;
}

export interface ClientSslProfile {
  fullPath: string;
  defaultsFrom: string;
  certKeyChain: KeyChainEntry[];
  generation: number;
}

export const splitPath = (fullPath: string): { partition: string; name: string } => {
  const m = /^\/([^/]+)\/(.+)$/.exec(fullPath);
  return { partition: m?.[1] ?? 'Common', name: m?.[2] ?? fullPath };
};

/** `~Common~x.crt`, `/Common/x.crt` or `x.crt` (+ optional partition) → `/Common/x.crt`. */
export function fullPathOf(raw: string, partition = 'Common'): string {
  const name = raw.replace(/~/g, '/');
  if (name.startsWith('/')) return name;
  return `/${partition}/${name}`;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function certificatesIn(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new X509Certificate(block));
}

export function parseCertificateFile(content: Buffer, what: string): string {
  const text = content.toString('utf8');
  let certs: X509Certificate[];
  try {
    certs = certificatesIn(text);
  } catch {
    certs = [];
  }
  // GUESS: the device's wording for a file that holds no PEM certificate.
  if (certs.length === 0)
    throw new F5Error(
      400,
      `01070712:3: Values (${what}) specified for certificate file are invalid: no PEM certificate found.`,
    );
  return text;
}

export function parseKeyFile(content: Buffer, what: string, passphrase?: string): string {
  try {
    const key = createPrivateKey(passphrase ? { key: content, passphrase } : { key: content });
    return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch {
    // GUESS: wording.
    throw new F5Error(400, `01070712:3: Values (${what}) specified for key file are invalid: the key cannot be read.`);
  }
}

const spki = (key: NodeKeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/**
 * Key/certificate pairs already compared: the device checks every profile on every change, and a fleet
 * has thousands. Keyed by the PEM strings themselves (V8 caches a string's hash, so this is cheap).
 */
const matchedPairs = new Map<string, Map<string, boolean>>();

export function keyMatches(keyPem: string, certPem: string): boolean {
  let ofKey = matchedPairs.get(keyPem);
  const known = ofKey?.get(certPem);
  if (known !== undefined) return known;
  const leaf = certificatesIn(certPem)[0];
  const matches = leaf !== undefined && spki(createPublicKey(keyPem)).equals(spki(leaf.publicKey));
  if (matchedPairs.size > 50_000) matchedPairs.clear();
  if (!ofKey) matchedPairs.set(keyPem, (ofKey = new Map<string, boolean>()));
  ofKey.set(certPem, matches);
  return matches;
}

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

/** BIG-IP prints distinguished names leaf-most RDN first, comma separated (see the fixture). */
const dn = (nodeDn: string | undefined): string => (nodeDn ?? '').split('\n').filter(Boolean).reverse().join(',');

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function curveName(key: NodeKeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ?? 'none';
}

function keySize(key: NodeKeyObject): number {
  const details = key.asymmetricKeyDetails;
  if (details?.modulusLength) return details.modulusLength;
  if (details?.namedCurve === 'prime256v1') return 256;
  if (details?.namedCurve === 'secp384r1') return 384;
  if (details?.namedCurve === 'secp521r1') return 521;
  return 0;
}

/** The fields every sys/file ssl-cert and ssl-key object starts with, in the order the device lists them. */
function fileHead(type: 'ssl-cert' | 'ssl-key', file: CertFile | KeyFile, version: string): Record<string, unknown> {
  const { partition, name } = splitPath(file.fullPath);
  return {
    kind: `tm:sys:file:${type}:${type}state`,
    name,
    partition,
    fullPath: file.fullPath,
    generation: file.revision,
    selfLink: `https://localhost/mgmt/tm/sys/file/${type}/${file.fullPath.replace(/\//g, '~')}${VERSION_QUERY(version)}`,
    checksum: `SHA1:${Buffer.byteLength(file.pem)}:${sha1(file.pem)}`,
    createTime: iso(file.createdAt),
    createdBy: 'certfleet',
  };
}

export function certJson(file: CertFile, version: string): Record<string, unknown> {
  const certs = certificatesIn(file.pem);
  const leaf = certs[0];
  const { partition, name } = splitPath(file.fullPath);
  const size = Buffer.byteLength(file.pem);
  const base: Record<string, unknown> = {
    ...fileHead('ssl-cert', file, version),
    isBundle: certs.length > 1 ? 'true' : 'false',
    lastUpdateTime: iso(file.updatedAt),
    mode: 33188,
    revision: file.revision,
    size,
    systemPath: `/config/filestore/files_d/${partition}_d/certificate_d/:${partition}:${name}_${file.revision}`,
    updatedBy: 'certfleet',
    ...(file.sourcePath ? { sourcePath: file.sourcePath } : {}),
  };
  if (!leaf) return base;
  const type = leaf.publicKey.asymmetricKeyType === 'ec' ? 'ec-public' : 'rsa-public';
  return {
    ...base,
    certificateKeyCurveName: curveName(leaf.publicKey),
    certificateKeySize: keySize(leaf.publicKey),
    expirationDate: Math.floor(new Date(leaf.validTo).getTime() / 1000),
    expirationString: leaf.validTo,
    fingerprint: `SHA256/${leaf.fingerprint256}`,
    issuer: dn(leaf.issuer),
    keyType: type,
    serialNumber: BigInt(`0x${leaf.serialNumber}`).toString(10),
    subject: dn(leaf.subject),
    version: 3,
  };
}

export function keyJson(file: KeyFile, version: string): Record<string, unknown> {
  const key = createPrivateKey(file.pem);
  const size = Buffer.byteLength(file.pem);
  return {
    ...fileHead('ssl-key', file, version),
    curveName: curveName(key),
    keySize: keySize(key),
    keyType: key.asymmetricKeyType === 'ec' ? 'ec-private' : 'rsa-private',
    lastUpdateTime: iso(file.updatedAt),
    mode: 33184,
    revision: file.revision,
    securityType: 'normal',
    size,
    updatedBy: 'certfleet',
  };
}

export function profileJson(profile: ClientSslProfile, version: string): Record<string, unknown> {
  const { partition, name } = splitPath(profile.fullPath);
  const first = profile.certKeyChain[0];
  return {
    kind: 'tm:ltm:profile:client-ssl:client-sslstate',
    name,
    partition,
    fullPath: profile.fullPath,
    generation: profile.generation,
    selfLink: `https://localhost/mgmt/tm/ltm/profile/client-ssl/${profile.fullPath.replace(/\//g, '~')}${VERSION_QUERY(version)}`,
    // The legacy top-level fields mirror the first cert-key-chain entry.
    cert: first?.cert ?? 'none',
    key: first?.key ?? 'none',
    chain: first?.chain ?? 'none',
    certKeyChain: profile.certKeyChain.map((e) => ({
      name: e.name,
      appService: 'none',
      cert: e.cert,
      key: e.key,
      ...(e.chain ? { chain: e.chain } : {}),
      usage: 'SERVER',
    })),
    defaultsFrom: profile.defaultsFrom,
    ciphers: 'DEFAULT',
    sniDefault: 'false',
  };
}

export class DeviceConfig {
  readonly certs = new Map<string, CertFile>();
  readonly keys = new Map<string, KeyFile>();
  readonly profiles = new Map<string, ClientSslProfile>();
  /** /var/config/rest/downloads/<name> → content (completed uploads). */
  readonly downloads = new Map<string, Buffer>();

  clone(): DeviceConfig {
    const copy = new DeviceConfig();
    for (const [k, v] of this.certs) copy.certs.set(k, { ...v });
    for (const [k, v] of this.keys) copy.keys.set(k, { ...v });
    for (const [k, v] of this.profiles)
      copy.profiles.set(k, { ...v, certKeyChain: v.certKeyChain.map((e) => ({ ...e })) });
    for (const [k, v] of this.downloads) copy.downloads.set(k, v);
    return copy;
  }

  /** Profiles whose cert-key-chain references the object. */
  usersOf(fullPath: string): string[] {
    return [...this.profiles.values()]
      .filter((p) => p.certKeyChain.some((e) => e.cert === fullPath || e.key === fullPath || e.chain === fullPath))
      .map((p) => p.fullPath);
  }

  /** What the device checks whenever a profile or one of its files changes. */
  validate(): void {
    for (const profile of this.profiles.values()) {
      for (const entry of profile.certKeyChain) {
        const cert = this.certs.get(entry.cert);
        const key = this.keys.get(entry.key);
        // GUESS: code and wording for a missing certificate; the key text is quoted in
        // terraform-provider-bigip issue #318.
        if (!cert) throw new F5Error(400, `01070226:3: The requested certificate (${entry.cert}) was not found.`);
        if (!key) throw new F5Error(400, `01070277:3: The requested key (${entry.key}) was not found.`);
        if (entry.chain && !this.certs.has(entry.chain))
          throw new F5Error(400, `01070226:3: The requested certificate (${entry.chain}) was not found.`);
        // docs/vendors/f5-bigip.md (f5-ansible issues #1217, #2505).
        if (!keyMatches(key.pem, cert.pem))
          throw new F5Error(400, `01070317:3: profile ${profile.fullPath}'s key and certificate do not match`);
      }
    }
  }
}

import { SecretPurpose } from '../../activities/crypto/secret-box';
import { buildPfx, splitPemChain, type PfxAlgorithm } from '../../activities/crypto/pem';
import { getVersion, type CertificateVersion } from '../../activities/db/repositories/certificate-versions';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { loadCertificate } from './certificates';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

export interface Download {
  fileName: string;
  contentType: string;
  body: string | Buffer;
  /** Holds a private key: never cached. */
  secret: boolean;
}

/** File names carry the name without the wildcard star. */
const fileBase = (name: string): string => name.replace(/^\*\./, 'wildcard.').replace(/[^a-z0-9.-]/gi, '_');

async function currentVersion(deps: WebDeps, id: unknown): Promise<{ name: string; version: CertificateVersion }> {
  const cert = await loadCertificate(deps.db, id);
  const version = cert.currentVersionId ? await getVersion(deps.db, cert.currentVersionId) : undefined;
  if (!version) throw new HttpError(404, 'This certificate has not been issued yet.');
  return { name: cert.commonName, version };
}

/** Certificate and chain: public material, every role. */
export async function downloadFullchain(deps: WebDeps, id: unknown): Promise<Download> {
  const { name, version } = await currentVersion(deps, id);
  return {
    fileName: `${fileBase(name)}.fullchain.pem`,
    contentType: 'application/x-pem-file',
    body: version.certPem + version.chainPem,
    secret: false,
  };
}

/** The private key (admins and technicians), audited. */
export async function downloadPrivateKey(deps: WebDeps, actor: Actor, id: unknown): Promise<Download> {
  const { name, version } = await currentVersion(deps, id);
  const keyPem = deps.box.openText(version.keySealed, SecretPurpose.versionKey);
  await audit(deps.db, actor, {
    action: 'certificate.download-key',
    entityType: 'certificate',
    entityId: version.certificateId,
    after: { versionId: version.id },
  });
  return { fileName: `${fileBase(name)}.key.pem`, contentType: 'application/x-pem-file', body: keyPem, secret: true };
}

/** PKCS#12 with a password the user chooses (holds the key: admins and technicians), audited. */
export async function downloadPfx(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<Download>> {
  const f = new FieldReader(body);
  const password = f.secret('password');
  if (password.length < 8 || password.length > 128) f.fail('password', 'Choose a PFX password of 8 to 128 characters.');
  // A boolean (the console's route turns its checkbox into one).
  const algorithm: PfxAlgorithm = f.bool('legacy') === true ? '3des' : 'aes256';
  if (!f.ok) return invalid(f.errors);
  const { name, version } = await currentVersion(deps, id);
  const pfx = buildPfx({
    keyPem: deps.box.openText(version.keySealed, SecretPurpose.versionKey),
    certPem: version.certPem,
    chainPems: splitPemChain(version.chainPem),
    password,
    friendlyName: name,
    algorithm,
  });
  await audit(deps.db, actor, {
    action: 'certificate.download-pfx',
    entityType: 'certificate',
    entityId: version.certificateId,
    after: { versionId: version.id, algorithm },
  });
  return done({ fileName: `${fileBase(name)}.pfx`, contentType: 'application/x-pkcs12', body: pfx, secret: true });
}

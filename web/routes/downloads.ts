import { Router, type Request } from 'express';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { buildPfx, type PfxAlgorithm } from '../../activities/crypto/pem';
import { getCertificate } from '../../activities/db/repositories/certificates';
import { getVersion, type CertificateVersion } from '../../activities/db/repositories/certificate-versions';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { adminOnly, canChange } from '../middleware/auth';

/** File names carry the name without the wildcard star. */
const fileBase = (name: string): string => name.replace(/^\*\./, 'wildcard.').replace(/[^a-z0-9.-]/gi, '_');

export function downloadRoutes(deps: WebDeps): Router {
  const router = Router();

  const currentVersion = async (req: Request): Promise<{ name: string; version: CertificateVersion }> => {
    const id = req.params['id'];
    const cert = typeof id === 'string' ? await getCertificate(deps.db, id) : undefined;
    if (!cert) throw new HttpError(404, 'No such certificate.');
    const version = cert.currentVersionId ? await getVersion(deps.db, cert.currentVersionId) : undefined;
    if (!version) throw new HttpError(404, 'This certificate has not been issued yet.');
    return { name: cert.commonName, version };
  };

  /** Certificate and chain: public material, every role. */
  router.get('/certificates/:id/download/fullchain.pem', async (req, res) => {
    const { name, version } = await currentVersion(req);
    res.attachment(`${fileBase(name)}.fullchain.pem`).type('application/x-pem-file').send(version.certPem + version.chainPem);
  });

  /** The private key: admins only, audited. */
  router.get('/certificates/:id/download/key.pem', adminOnly, async (req, res) => {
    const { name, version } = await currentVersion(req);
    const keyPem = deps.box.openText(version.keySealed, SecretPurpose.versionKey);
    await audit(deps.db, req, { action: 'certificate.download-key', entityType: 'certificate', entityId: version.certificateId, after: { versionId: version.id } });
    res.set('Cache-Control', 'no-store').attachment(`${fileBase(name)}.key.pem`).type('application/x-pem-file').send(keyPem);
  });

  /** PKCS#12 with a password the user chooses (contains the key: not for read-only users), audited. */
  router.post('/certificates/:id/download/pfx', canChange, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    if (password.length < 8 || password.length > 128) throw new HttpError(400, 'Choose a PFX password of 8 to 128 characters.');
    const algorithm: PfxAlgorithm = body['legacy'] === 'on' ? '3des' : 'aes256';
    const { name, version } = await currentVersion(req);
    const chainPems = version.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    const pfx = buildPfx({
      keyPem: deps.box.openText(version.keySealed, SecretPurpose.versionKey),
      certPem: version.certPem,
      chainPems,
      password,
      friendlyName: name,
      algorithm,
    });
    await audit(deps.db, req, { action: 'certificate.download-pfx', entityType: 'certificate', entityId: version.certificateId, after: { versionId: version.id, algorithm } });
    res.set('Cache-Control', 'no-store').attachment(`${fileBase(name)}.pfx`).type('application/x-pkcs12').send(pfx);
  });

  return router;
}

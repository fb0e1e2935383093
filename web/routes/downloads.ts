import { Router, type Response } from 'express';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { canChange } from '../middleware/auth';
import { downloadFullchain, downloadPfx, downloadPrivateKey, type Download } from '../operations/downloads';
import { checkbox, type Body } from '../operations/input';

/** Sends a file; anything holding a private key is never cached. */
export function sendDownload(res: Response, download: Download): void {
  if (download.secret) res.set('Cache-Control', 'no-store');
  res.attachment(download.fileName).type(download.contentType).send(download.body);
}

export function downloadRoutes(deps: WebDeps): Router {
  const router = Router();

  router.get('/certificates/:id/download/fullchain.pem', async (req, res) =>
    sendDownload(res, await downloadFullchain(deps, req.params['id'])),
  );

  router.get('/certificates/:id/download/key.pem', canChange, async (req, res) =>
    sendDownload(res, await downloadPrivateKey(deps, req, req.params['id'])),
  );

  router.post('/certificates/:id/download/pfx', canChange, async (req, res) => {
    const body = req.body as Body;
    const result = await downloadPfx(deps, req, req.params['id'], { ...body, legacy: checkbox(body, 'legacy') });
    if (!result.ok) throw new HttpError(400, Object.values(result.errors).join(' '));
    sendDownload(res, result.value);
  });

  return router;
}

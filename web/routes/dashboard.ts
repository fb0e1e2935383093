import { Router } from 'express';
import { countByStatus, listCertificates } from '../../activities/db/repositories/certificates';
import type { WebDeps } from '../deps';
import type { Views } from '../render';

export function dashboardRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const [certificates, counts] = await Promise.all([listCertificates(deps.db), countByStatus(deps.db)]);
    views.page(req, res, 'dashboard', { title: 'Dashboard', certificates, counts });
  });
  return router;
}

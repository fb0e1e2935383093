import { Router } from 'express';
import type { WebDeps } from '../deps';
import { canChange } from '../middleware/auth';
import { loadCertificate } from '../operations/certificates';
import { checkCertificateDelegation, delegationView } from '../operations/dns-delegation';
import type { Views } from '../render';

/** How long the button's request waits for the check before the fragment polls instead. */
const ANSWER_WITHIN_MS = 5_000;

/** The certificate page's "CNAME delegation" card: the check button and its self-polling result. */
export function dnsDelegationRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  router.post('/certificates/:id/delegation/check', canChange, async (req, res) => {
    const cert = await checkCertificateDelegation(deps, req, req.params['id']);
    if (req.get('HX-Request') === 'true') {
      const check = await deps.commands.dnsDelegationCheck(cert.id, ANSWER_WITHIN_MS);
      views.partial(res, 'delegation-check', { cert, delegation: delegationView(cert), check });
      return;
    }
    res.redirect(303, `/certificates/${cert.id}`);
  });

  /** htmx fragment: the latest check, polling itself while it runs. */
  router.get('/certificates/:id/delegation/check', async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    const check = await deps.commands.dnsDelegationCheck(cert.id);
    views.partial(res, 'delegation-check', { cert, delegation: delegationView(cert), check });
  });

  return router;
}

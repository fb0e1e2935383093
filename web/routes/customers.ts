import { Router, type Request, type Response } from 'express';
import { listCertificatePage } from '../../activities/db/repositories/certificate-list';
import { listCustomerSummaries } from '../../activities/db/repositories/customers';
import { listTargets, redactTarget } from '../../activities/db/repositories/targets';
import type { WebDeps } from '../deps';
import { canChange } from '../middleware/auth';
import { createCustomer, deleteCustomer, loadCustomer, updateCustomer } from '../operations/customers';
import type { Body, FieldErrors } from '../operations/input';
import type { Views } from '../render';

export function customerRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  const list = async (req: Request, res: Response, values: Body = {}, errors: FieldErrors = {}, status = 200) => {
    const customers = await listCustomerSummaries(deps.db);
    views.page(
      req,
      res,
      'customers',
      {
        title: 'Customers',
        customers,
        values,
        errors,
        ...(status === 400 ? { formError: 'Please correct the fields marked below.' } : {}),
      },
      status,
    );
  };

  const detail = async (req: Request, res: Response, values?: Body, errors: FieldErrors = {}, status = 200) => {
    const customer = await loadCustomer(deps.db, req.params['id']);
    const [certificates, targets] = await Promise.all([
      listCertificatePage(deps.db, {
        customerId: customer.id,
        sort: 'expiry',
        descending: false,
        page: 1,
        pageSize: 50,
      }),
      listTargets(deps.db, { customerId: customer.id }),
    ]);
    views.page(
      req,
      res,
      'customer',
      {
        title: customer.name,
        customer,
        certificates,
        targets: targets.map(redactTarget),
        values: values ?? customer,
        errors,
        ...(status === 400 ? { formError: 'Please correct the fields marked below.' } : {}),
      },
      status,
    );
  };

  router.get('/customers', (req, res) => list(req, res));
  router.post('/customers', canChange, async (req, res) => {
    const result = await createCustomer(deps, req, req.body as Body);
    if (!result.ok) return list(req, res, req.body as Body, result.errors, 400);
    res.redirect(303, `/customers/${result.value.id}`);
  });
  router.get('/customers/:id', (req, res) => detail(req, res));
  router.post('/customers/:id', canChange, async (req, res) => {
    const result = await updateCustomer(deps, req, req.params['id'], req.body as Body);
    if (!result.ok) return detail(req, res, req.body as Body, result.errors, 400);
    res.redirect(303, `/customers/${result.value.id}`);
  });
  router.post('/customers/:id/delete', canChange, async (req, res) => {
    await deleteCustomer(deps, req, req.params['id']);
    res.redirect(303, '/customers');
  });
  return router;
}

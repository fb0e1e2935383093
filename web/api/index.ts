import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { WebDeps } from '../deps';
import { adminApi } from './admin';
import { certificateApi } from './certificates';
import { withDnsProviderSchema } from './dns-provider-schema';
import { inventoryApi } from './inventory';
import { API_PREFIX, apiErrors, bearerAuth } from './support';

export const OPENAPI_PATH = path.join(__dirname, '..', 'openapi.yaml');

/**
 * The JSON API under /api/v1: the console's operations with per-user API tokens and the same role
 * checks. No cookies, so no CSRF: a request without a valid bearer token is a 401.
 */
export function apiRoutes(deps: WebDeps): Router {
  const router = Router();
  const openapi = withDnsProviderSchema(readFileSync(OPENAPI_PATH, 'utf8'));
  // A browser opening the link shows the document (a YAML type would be saved as a file); tools get
  // application/yaml, and `?download=1` saves it as a file.
  router.get(`${API_PREFIX}/openapi.yaml`, (req, res) => {
    if (req.query['download'] !== undefined) {
      res.attachment('certfleet-openapi.yaml').type('application/yaml').send(openapi);
      return;
    }
    const forBrowser = req.accepts(['application/yaml', 'text/html']) === 'text/html';
    res
      .type(forBrowser ? 'text/plain; charset=utf-8' : 'application/yaml')
      .vary('Accept')
      .send(openapi);
  });
  router.use(API_PREFIX, express.json({ limit: '200kb', strict: true }), bearerAuth(deps.db));
  inventoryApi(router, deps);
  certificateApi(router, deps);
  adminApi(router, deps);
  router.use(API_PREFIX, (_req, res) => {
    res.status(404).json({ error: 'No such API endpoint. See /api/v1/openapi.yaml.' });
  });
  router.use(API_PREFIX, apiErrors(deps.log));
  return router;
}

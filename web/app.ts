import path from 'node:path';
import connectPgSimple from 'connect-pg-simple';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import type { WebDeps } from './deps';
import { loadUser, requireLogin, requireMfaEnrolment } from './middleware/auth';
import { createCsrf } from './middleware/csrf';
import { errorHandler, notFound } from './middleware/errors';
import { formBody } from './middleware/form-body';
import { noStore } from './middleware/no-store';
import { requestLog } from './middleware/request-log';
import { createViews } from './render';
import { apiRoutes } from './api';
import { serverTiming } from './middleware/server-timing';
import { temporalDeadline } from './middleware/temporal-deadline';
import { accountRoutes } from './routes/account';
import { auditRoutes } from './routes/audit';
import { authRoutes } from './routes/auth';
import { customerRoutes } from './routes/customers';
import { reportRoutes } from './routes/reports';
import { certificateRoutes } from './routes/certificates';
import { dashboardRoutes } from './routes/dashboard';
import { dnsProviderRoutes } from './routes/dns-providers';
import { dnsDelegationRoutes } from './routes/dns-delegation';
import { healthRoutes } from './routes/health';
import { downloadRoutes } from './routes/downloads';
import { deploymentRoutes } from './routes/deployments';
import { settingsRoutes } from './routes/settings';
import { targetRoutes } from './routes/targets';

const HTMX = require.resolve('htmx.org/dist/htmx.min.js');
/** How long one request may wait for Temporal in all (see middleware/temporal-deadline.ts). */
const TEMPORAL_REQUEST_DEADLINE_MS = 10_000;

/** The web console, without listen(): tests drive it directly. */
export function createApp(deps: WebDeps): Express {
  const app = express();
  const views = createViews();
  const csrf = createCsrf({ key: deps.box.derive('csrf-cookie'), secureCookies: deps.secureCookies });
  const PgStore = connectPgSimple(session);

  app.disable('x-powered-by');
  app.use(requestLog(deps.log));
  app.use(serverTiming);
  app.use(temporalDeadline(deps.temporal.client, TEMPORAL_REQUEST_DEADLINE_MS));
  app.set('trust proxy', deps.trustProxy ?? 'loopback');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          // Upgrading requests to https only makes sense when the console is served over https.
          upgradeInsecureRequests: deps.secureCookies ? [] : null,
        },
      },
      strictTransportSecurity: deps.secureCookies,
    }),
  );
  app.get('/static/htmx.min.js', (_req, res) => res.sendFile(HTMX, { maxAge: '1d' }));
  app.use('/static', express.static(path.join(__dirname, 'public'), { maxAge: '1h' }));
  // /healthz, /readyz and /metrics: for monitors, without a session.
  app.use(healthRoutes(deps));
  // Below here every answer is about what a user may see: no cache keeps it.
  app.use(noStore);
  // The JSON API authenticates with bearer tokens, not the session cookie (so it needs no CSRF token).
  app.use(apiRoutes(deps));

  app.use(express.urlencoded({ extended: false, limit: '200kb' }));
  app.use(
    session({
      store: new PgStore({
        pool: deps.db.pool,
        tableName: 'web_sessions',
        createTableIfMissing: false,
        pruneSessionInterval: 600,
      }),
      secret: deps.box.derive('session-cookie').toString('hex'),
      name: 'certfleet.sid',
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: 12 * 3600_000 },
    }),
  );
  app.use(loadUser(deps.db));
  app.use(csrf.exposeToken);
  app.use(csrf.protect);
  app.use(formBody);

  app.use(authRoutes(deps, views));
  app.use(requireLogin);
  app.use(requireMfaEnrolment);
  app.use(dashboardRoutes(deps, views));
  app.use(customerRoutes(deps, views));
  app.use(dnsProviderRoutes(deps, views));
  app.use(certificateRoutes(deps, views));
  app.use(dnsDelegationRoutes(deps, views));
  app.use(downloadRoutes(deps));
  app.use(targetRoutes(deps, views));
  app.use(deploymentRoutes(deps, views));
  app.use(auditRoutes(deps, views));
  app.use(reportRoutes(deps, views));
  app.use(accountRoutes(deps, views));
  app.use(settingsRoutes(deps, views));

  app.use(notFound);
  app.use(errorHandler(views, deps.log));
  return app;
}

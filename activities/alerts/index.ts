import type { ActivityDeps } from '../deps';
import { createMailer } from '../mailer';
import { createAlerter, type Alerter } from './alerter';
import { createAlertTemplates, type RenderAlert } from './render';

/** The worker's alerter and templates, built from its deps (one per activity group, templates compiled once each). */
export function alertingFor(deps: Pick<ActivityDeps, 'db' | 'box' | 'mail' | 'consoleUrl' | 'alerts' | 'log'>): {
  alerter: Alerter;
  render: RenderAlert;
  mailer: ReturnType<typeof createMailer>;
} {
  const mailer = createMailer(deps);
  const render = createAlertTemplates();
  return {
    mailer,
    render,
    alerter: createAlerter({
      db: deps.db,
      mailer,
      render,
      consoleUrl: deps.consoleUrl,
      settings: deps.alerts,
      log: deps.log,
    }),
  };
}

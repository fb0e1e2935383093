import type { Logger } from 'pino';
import type { Queryable } from '../db/pool';
import {
  claimNotice,
  dropUnsentResolved,
  incidentsAwaitingAlert,
  incidentsAwaitingRecoveryNotice,
  markAlertSent,
  markRecoverySent,
  observeProblem,
  observeRecovery,
  releaseNotice,
  resolveQuietIncidents,
  type IncidentRecord,
  type IncidentSpec,
} from '../db/repositories/incidents';
import type { Mailer } from '../mailer';
import type { RenderAlert } from './render';

/** How incidents behave: see .env.example (ALERT_*). */
export interface AlertSettings {
  /** A fixed problem must stay fixed this long before the recovery notice (a flapping target stays one incident). */
  recoveryQuietMs: number;
  /** A renewed version not on a target after this long is an incident of its own. */
  notDeployedAfterMs: number;
  /** Also email every successful issuance (not an alert). */
  issuedNotices: boolean;
  /** The drift watch alerts when an endpoint serves a certificate expiring within this many days. */
  servedExpiryDays: number;
  /** The daily digest lists certificates expiring within each of these many days. */
  digestThresholdsDays: number[];
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  recoveryQuietMs: 30 * 60_000,
  notDeployedAfterMs: 24 * 3600_000,
  issuedNotices: true,
  servedExpiryDays: 14,
  digestThresholdsDays: [7, 14, 30],
};

const KIND_SUBJECT: Record<IncidentRecord['kind'], string> = {
  'renewal-failed': 'FAILED',
  'deploy-failed': 'DEPLOY FAILED',
  'not-deployed': 'NOT DEPLOYED',
  drift: 'DRIFT',
  'served-expiring': 'EXPIRING',
  'dependency-down': 'NOT ANSWERING',
};

const KIND_ADVICE: Record<IncidentRecord['kind'], string> = {
  'renewal-failed':
    'A certificate issued before stays in place. Fix the cause, then use "Renew now" on the certificate page.',
  'deploy-failed': 'The target keeps what it served before. Fix the cause, then use "Retry" on the deployment page.',
  'not-deployed': 'The renewed certificate has not reached this target. When the old one expires, the service breaks.',
  drift:
    'The endpoint serves something other than what CertFleet deployed: someone changed it by hand, or a deploy did not take effect.',
  'served-expiring':
    'The certificate this endpoint serves expires soon. Check that renewal and deployment work for it.',
  'dependency-down':
    'Runs that need it wait and try again on timers; everything else goes on. Check that it is up and reachable from the worker: the runs complete by themselves once it answers.',
};

interface IncidentContext {
  certificate: string | undefined;
  target: string | undefined;
  customer: string | undefined;
  recipients: string[];
}

async function contextOf(db: Queryable, incident: IncidentRecord): Promise<IncidentContext> {
  const rows = await db.query<{
    common_name: string | null;
    target_name: string | null;
    customer_name: string | null;
    alert_recipients: string[] | null;
  }>(
    `SELECT c.common_name, t.name AS target_name, cu.name AS customer_name, cu.alert_recipients
       FROM (SELECT $1::bigint AS cert, $2::bigint AS dep, $3::bigint AS cust) x
       LEFT JOIN deployments d ON d.id = x.dep
       LEFT JOIN certificates c ON c.id = COALESCE(x.cert, d.certificate_id)
       LEFT JOIN targets t ON t.id = d.target_id
       LEFT JOIN customers cu ON cu.id = COALESCE(x.cust, c.customer_id)`,
    [incident.certificateId, incident.deploymentId, incident.customerId],
  );
  const r = rows[0];
  return {
    certificate: r?.common_name ?? undefined,
    target: r?.target_name ?? undefined,
    customer: r?.customer_name ?? undefined,
    recipients: r?.alert_recipients ?? [],
  };
}

export interface Alerter {
  /** The problem is there: opens an incident (alerting at once) or counts it in the open one. */
  problem(spec: IncidentSpec): Promise<{ opened: boolean; alerted: boolean }>;
  /** The problem is gone: the incident ends after the quiet period (the sweep sends the notice). */
  recovered(key: string): Promise<void>;
  /** Ends quiet incidents with a recovery notice, and retries alerts that could not be sent. */
  sweep(): Promise<{ resolved: number; alerts: number; recoveries: number }>;
}

export function createAlerter(deps: {
  db: Queryable;
  mailer: Mailer;
  render: RenderAlert;
  consoleUrl: string;
  settings: AlertSettings;
  log: Logger;
}): Alerter {
  const base = deps.consoleUrl.replace(/\/$/, '');
  const linkOf = (i: IncidentRecord): string =>
    i.deploymentId
      ? `${base}/deployments/${i.deploymentId}`
      : i.certificateId
        ? `${base}/certificates/${i.certificateId}`
        : base;
  const when = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '');

  /** Claims the notice, sends it, marks it sent; a failed send frees the claim for the next sweep. */
  const claimed = async (
    incident: IncidentRecord,
    notice: 'alert' | 'recovery',
    send: () => Promise<boolean>,
  ): Promise<boolean> => {
    if (!(await claimNotice(deps.db, incident.id, notice))) return false;
    try {
      const sent = await send();
      if (!sent) await releaseNotice(deps.db, incident.id, notice);
      return sent;
    } catch (error) {
      await releaseNotice(deps.db, incident.id, notice);
      throw error;
    }
  };

  const sendAlert = (incident: IncidentRecord): Promise<boolean> =>
    claimed(incident, 'alert', async () => {
      const ctx = await contextOf(deps.db, incident);
      const subject = `[CertFleet] ${KIND_SUBJECT[incident.kind]}: ${incident.title}`;
      const body = deps.render('incident', subject, {
        ...ctx,
        title: incident.title,
        detail: incident.detail,
        openedAt: when(incident.openedAt),
        advice: KIND_ADVICE[incident.kind],
        link: linkOf(incident),
        quietMinutes: Math.round(deps.settings.recoveryQuietMs / 60_000),
        consoleUrl: base,
      });
      const result = await deps.mailer.send({ subject, ...body, extraRecipients: ctx.recipients });
      if (!result.sent) return false;
      await markAlertSent(deps.db, incident.id);
      return true;
    });

  const sendRecovery = (incident: IncidentRecord): Promise<boolean> =>
    claimed(incident, 'recovery', async () => {
      const ctx = await contextOf(deps.db, incident);
      const subject = `[CertFleet] RESOLVED: ${incident.title}`;
      const body = deps.render('recovery', subject, {
        ...ctx,
        title: incident.title,
        openedAt: when(incident.openedAt),
        recoveringSince: when(incident.recoveringSince),
        occurrences: incident.occurrences,
        link: linkOf(incident),
        consoleUrl: base,
      });
      const result = await deps.mailer.send({ subject, ...body, extraRecipients: ctx.recipients });
      if (!result.sent) return false;
      await markRecoverySent(deps.db, incident.id);
      return true;
    });

  return {
    async problem(spec) {
      const { incident, opened } = await observeProblem(deps.db, spec);
      if (!opened) return { opened, alerted: false };
      // A mail failure leaves the alert pending: the sweep retries it; the caller's work goes on.
      const alerted = await sendAlert(incident).catch((error: unknown) => {
        deps.log.warn({ err: error, incident: incident.key }, 'alert not sent yet; the sweep retries it');
        return false;
      });
      return { opened, alerted };
    },
    async recovered(key) {
      await observeRecovery(deps.db, key);
    },
    async sweep() {
      const resolved = await resolveQuietIncidents(deps.db, deps.settings.recoveryQuietMs);
      await dropUnsentResolved(deps.db);
      let alerts = 0;
      for (const incident of await incidentsAwaitingAlert(deps.db, 100))
        if (await sendAlert(incident).catch(() => false)) alerts += 1;
      let recoveries = 0;
      for (const incident of await incidentsAwaitingRecoveryNotice(deps.db, 100))
        if (await sendRecovery(incident).catch(() => false)) recoveries += 1;
      return { resolved: resolved.length, alerts, recoveries };
    },
  };
}

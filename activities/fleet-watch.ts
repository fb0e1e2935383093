import { Context } from '@temporalio/activity';
import { alertingFor } from './alerts';
import { verifyEndpointsOf, endpointLabel } from './deploy-endpoints';
import { getDeployment } from './db/repositories/deployments';
import {
  certificatesExpiringWithin,
  countWaitingDeployments,
  customersWithRecipients,
  deploymentsToWatch,
  forgetEndpointChecks,
  recordEndpointCheck,
  servedExpiringWithin,
  undeployedDeployments,
  type EndpointCheck,
  type ExpiringRow,
  type ServedExpiringRow,
  type WatchedDeployment,
} from './db/repositories/fleet-watch';
import { incidentKey, listOpenIncidents, openIncidentKeys, type IncidentRecord } from './db/repositories/incidents';
import { getTarget } from './db/repositories/targets';
import type { ActivityDeps } from './deps';
import { servedCertificate } from './deployers/verify-served';
import { checkTargetAddress } from './target-address';
import type { VerifyEndpoint } from './deployers/types';
import { expiresWithin } from './domain/expiry-threshold';

const DAY_MS = 86_400_000;
const CONCURRENT_HANDSHAKES = 16;
const date = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
const daysLeft = (d: Date): number => Math.floor((d.getTime() - Date.now()) / DAY_MS);

export function createFleetWatchActivities(deps: ActivityDeps) {
  const { alerter, mailer, render } = alertingFor(deps);
  const base = deps.consoleUrl.replace(/\/$/, '');

  /** One endpoint of one deployment: what it serves, compared with what we deployed. */
  const checkEndpoint = async (watched: WatchedDeployment, endpoint: VerifyEndpoint): Promise<EndpointCheck> => {
    const label = endpointLabel(endpoint);
    const record = {
      deploymentId: watched.deploymentId,
      endpoint: label,
      host: endpoint.host,
      port: endpoint.port,
      servername: endpoint.servername ?? null,
    };
    try {
      await checkTargetAddress(deps.db, 'drift watch', endpoint.host);
      const served = await servedCertificate(endpoint, 10_000);
      const notAfter = served.validTo ? new Date(served.validTo) : null;
      const notBefore = served.validFrom ? new Date(served.validFrom) : null;
      const expiring = notAfter !== null && expiresWithin(deps.alerts.servedExpiryDays, { notBefore, notAfter });
      const state: EndpointCheck['state'] =
        served.fingerprintSha256 !== watched.expectedFingerprint ? 'drift' : expiring ? 'expiring' : 'match';
      const detail =
        state === 'drift'
          ? `${label} serves ${served.fingerprintSha256.slice(0, 16)}… (CN ${served.subject || '?'}, issuer ${served.issuer || '?'}, expires ${notAfter ? date(notAfter) : '?'}), not the deployed ${watched.expectedFingerprint.slice(0, 16)}…`
          : state === 'expiring' && notAfter
            ? `${label} serves a certificate that expires ${date(notAfter)} (${daysLeft(notAfter)} days)`
            : null;
      return {
        ...record,
        state,
        fingerprintSha256: served.fingerprintSha256,
        subject: served.subject || null,
        issuer: served.issuer || null,
        notBefore,
        notAfter,
        detail,
      };
    } catch (error) {
      return {
        ...record,
        state: 'unreachable',
        fingerprintSha256: null,
        subject: null,
        issuer: null,
        notBefore: null,
        notAfter: null,
        detail: `${label}: ${(error as Error).message}`,
      };
    }
  };

  /** Records a check, and opens or ends the endpoint's drift and expiry incidents. */
  const settle = async (watched: WatchedDeployment, check: EndpointCheck): Promise<void> => {
    await recordEndpointCheck(deps.db, check);
    // An endpoint we cannot reach tells nothing new: its incidents stay as they are.
    if (check.state === 'unreachable') return;
    const spec = {
      certificateId: watched.certificateId,
      deploymentId: watched.deploymentId,
      customerId: watched.customerId,
    };
    const drift = incidentKey.drift(watched.deploymentId, check.endpoint);
    if (check.state === 'drift') {
      await alerter.problem({
        ...spec,
        key: drift,
        kind: 'drift',
        title: `${check.endpoint} (${watched.targetName}) does not serve ${watched.commonName}`,
        detail: check.detail ?? '',
      });
    } else await alerter.recovered(drift);
    const expiring = incidentKey.servedExpiring(watched.deploymentId, check.endpoint);
    if (
      check.notAfter &&
      expiresWithin(deps.alerts.servedExpiryDays, { notBefore: check.notBefore, notAfter: check.notAfter })
    ) {
      await alerter.problem({
        ...spec,
        key: expiring,
        kind: 'served-expiring',
        title: `${check.endpoint} (${watched.targetName}) serves a certificate expiring ${date(check.notAfter)}`,
        detail: `${check.endpoint} serves ${check.subject ?? 'a certificate'} (issuer ${check.issuer ?? '?'}) that expires ${date(check.notAfter)}, in ${daysLeft(check.notAfter)} days.`,
      });
    } else await alerter.recovered(expiring);
  };

  const digestBuckets = (rows: ExpiringRow[]) => {
    const limits = deps.alerts.digestThresholdsDays;
    return limits.map((limit, i) => {
      const lower = i === 0 ? -Infinity : (limits[i - 1] as number);
      // Each certificate in the first bucket whose (lifetime-scaled) threshold it is within.
      const inBucket = rows.filter((r) => expiresWithin(limit, r) && (i === 0 || !expiresWithin(lower, r)));
      return {
        label: i === 0 ? `Expired or expiring within ${limit} days` : `Expiring in ${lower} to ${limit} days`,
        rows: inBucket.map((r) => ({
          name: r.commonName,
          customer: r.customerName,
          notAfter: date(r.notAfter),
          days: daysLeft(r.notAfter),
          link: `${base}/certificates/${r.certificateId}`,
        })),
      };
    });
  };

  const servedRows = (rows: ServedExpiringRow[]) =>
    rows.map((r) => ({
      endpoint: r.endpoint,
      target: r.targetName,
      subject: r.subject ?? '?',
      notAfter: date(r.notAfter),
      days: daysLeft(r.notAfter),
      drift: r.state === 'drift',
    }));
  const incidentRows = (rows: IncidentRecord[]) =>
    rows.map((i) => ({
      title: i.title,
      openedAt: date(i.openedAt),
      link: i.deploymentId
        ? `${base}/deployments/${i.deploymentId}`
        : i.certificateId
          ? `${base}/certificates/${i.certificateId}`
          : undefined,
    }));

  return {
    /**
     * Every minute (its own schedule): renewed versions not deployed in time become incidents,
     * quiet incidents end with a recovery notice, alerts that could not be sent are retried.
     */
    async sweepAlerts(
      _input: Record<string, never>,
    ): Promise<{ notDeployed: number; resolved: number; alerts: number; recoveries: number }> {
      const late = await undeployedDeployments(deps.db, deps.alerts.notDeployedAfterMs);
      const lateIds = new Set(late.map((d) => d.deploymentId));
      for (const d of late) {
        await alerter.problem({
          key: incidentKey.notDeployed(d.deploymentId),
          kind: 'not-deployed',
          certificateId: d.certificateId,
          deploymentId: d.deploymentId,
          customerId: d.customerId,
          title: `${d.commonName} renewed but not on ${d.targetName}`,
          detail: `A new version of ${d.commonName} was issued ${date(d.issuedAt)}, but ${d.targetName} still does not have it (deployment ${d.status}).`,
        });
      }
      for (const key of await openIncidentKeys(deps.db, 'not-deployed:')) {
        if (!lateIds.has(key.slice('not-deployed:'.length))) await alerter.recovered(key);
      }
      return { notDeployed: late.length, ...(await alerter.sweep()) };
    },

    /** The daily digest: to the global recipients (every customer) and to each customer's own recipients (theirs). */
    async sendDailyDigest(_input: Record<string, never>): Promise<{ sent: number; detail: string }> {
      const maxDays = Math.max(...deps.alerts.digestThresholdsDays);
      const [expiring, served, incidents, waiting, customers] = await Promise.all([
        certificatesExpiringWithin(deps.db, maxDays),
        servedExpiringWithin(deps.db, deps.alerts.servedExpiryDays),
        listOpenIncidents(deps.db, undefined, 500),
        countWaitingDeployments(deps.db),
        customersWithRecipients(deps.db),
      ]);
      const today = new Date().toISOString().slice(0, 10);
      const compose = (
        customer: string | undefined,
        rows: ExpiringRow[],
        servedRowsOf: ServedExpiringRow[],
        open: IncidentRecord[],
        waitingCount: number,
      ) => {
        const subject = `[CertFleet] Daily digest${customer ? ` for ${customer}` : ''}: ${rows.length} expiring within ${maxDays} days, ${open.length} open incident(s)`;
        return {
          subject,
          ...render('digest', subject, {
            customer,
            date: today,
            buckets: digestBuckets(rows),
            served: servedRows(servedRowsOf),
            servedDays: deps.alerts.servedExpiryDays,
            incidents: incidentRows(open),
            waiting: waitingCount,
            consoleUrl: base,
          }),
        };
      };
      let sent = 0;
      const all = await mailer.send(compose(undefined, expiring, served, incidents, waiting));
      if (all.sent) sent += 1;
      for (const customer of customers) {
        const own = await countWaitingDeployments(deps.db, customer.id);
        const message = compose(
          customer.name,
          expiring.filter((r) => r.customerId === customer.id),
          served.filter((r) => r.customerId === customer.id),
          incidents.filter((i) => i.customerId === customer.id),
          own,
        );
        if ((await mailer.send({ ...message, onlyTo: customer.recipients })).sent) sent += 1;
      }
      return {
        sent,
        detail: `${sent} digest(s): ${expiring.length} certificate(s) expiring within ${maxDays} days, ${served.length} served endpoint(s) expiring, ${incidents.length} open incident(s)`,
      };
    },

    /**
     * The drift watch, one page of deployments per call: a TLS handshake with each endpoint records
     * what it serves; drift and near expiry open incidents (once each), a fixed endpoint ends them.
     */
    async checkServedEndpoints(input: {
      afterId: string | null;
      limit: number;
    }): Promise<{ lastId: string | null; deployments: number; endpoints: number; problems: number }> {
      const page = await deploymentsToWatch(deps.db, input.afterId, input.limit);
      const ctx = Context.current();
      const jobs: { watched: WatchedDeployment; endpoint: VerifyEndpoint }[] = [];
      for (const watched of page) {
        const [deployment, target] = await Promise.all([
          getDeployment(deps.db, watched.deploymentId),
          getTarget(deps.db, watched.targetId),
        ]);
        if (!deployment || !target) continue;
        const endpoints = verifyEndpointsOf(deps.vendors, target, deployment);
        await forgetEndpointChecks(deps.db, watched.deploymentId, endpoints.map(endpointLabel));
        for (const endpoint of endpoints) jobs.push({ watched, endpoint });
      }
      let problems = 0;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const job = jobs[next++] as (typeof jobs)[number];
          const check = await checkEndpoint(job.watched, job.endpoint);
          if (check.state !== 'match') problems += 1;
          await settle(job.watched, check);
          ctx.heartbeat();
        }
      };
      await Promise.all(Array.from({ length: CONCURRENT_HANDSHAKES }, worker));
      return { lastId: page.at(-1)?.deploymentId ?? null, deployments: page.length, endpoints: jobs.length, problems };
    },
  };
}

import { Context } from '@temporalio/activity';
import type { DeploymentOutcome, LifecycleOutcome, LifecycleTrigger } from '../temporal/contract';
import { alertingFor } from './alerts';
import { getAuditEntry } from './db/repositories/audit-log';
import { getCertificate } from './db/repositories/certificates';
import { incidentKey } from './db/repositories/incidents';
import { recordLifecycleRun } from './db/repositories/lifecycle-runs';
import type { ActivityDeps } from './deps';

export function createNotifyActivities(
  deps: Pick<ActivityDeps, 'db' | 'box' | 'mail' | 'consoleUrl' | 'alerts' | 'log'>,
) {
  const { alerter, mailer, render } = alertingFor(deps);
  const base = deps.consoleUrl.replace(/\/$/, '');

  return {
    /** Settings → Email → "Send test email": proves the SMTP settings and recipients work. */
    async sendTestEmail(input: { requestedBy: string }): Promise<{ sent: boolean; detail: string }> {
      const text = [
        `This is a test email from CertFleet, sent at the request of ${input.requestedBy}.`,
        '',
        'Certificate alerts and reports will reach this address.',
        '',
        `Console: ${deps.consoleUrl}`,
        '',
        '-- CertFleet',
      ].join('\n');
      return mailer.send({ subject: '[CertFleet] Test email', text });
    },

    /**
     * An audited change of where a secret is sent (a target's address, a DNS provider's API URL, the
     * SMTP server): the admins hear of it, with who, when, from where, and the old and new address.
     */
    async sendEndpointChangeNotice(input: { auditId: string }): Promise<{ sent: boolean; detail: string }> {
      const entry = await getAuditEntry(deps.db, input.auditId);
      if (!entry) return { sent: false, detail: `audit entry ${input.auditId} not found` };
      const after = (entry.after ?? {}) as { name?: string; endpoint?: unknown };
      const before = (entry.before ?? {}) as { endpoint?: unknown };
      const what = `${entry.entityType.replace('_', ' ')} ${after.name ?? entry.entityId ?? ''}`.trim();
      const text = [
        `${entry.actor}${entry.actorIp ? ` (from ${entry.actorIp})` : ''} changed where the secrets of ${what} are sent, at ${entry.at.toISOString()}.`,
        '',
        `Before: ${JSON.stringify(before.endpoint)}`,
        `After:  ${JSON.stringify(after.endpoint)}`,
        '',
        'Secrets stored for the old address cannot be used for the new one: they had to be entered again.',
        'If you did not expect this change, check the audit log.',
        '',
        `Audit log: ${base}/audit?action=${encodeURIComponent(entry.action)}`,
        '',
        '-- CertFleet',
      ].join('\n');
      return mailer.send({ subject: `[CertFleet] Address changed: ${what}`, text });
    },

    /**
     * The end of a renewal run (its "notify" step): records the outcome, and
     * - failed: the certificate's renewal incident alerts, once per incident (a renewal that keeps
     *   failing does not mail every run);
     * - issued or partial: the renewal incident, if any, heads for its recovery notice; an issued
     *   certificate gets a notice (ALERT_ISSUED_NOTICES). Deploy failures alert per target from the
     *   deploy itself, so a partial run sends nothing more here.
     */
    async sendLifecycleEmail(input: {
      certificateId: string;
      outcome: LifecycleOutcome;
      reason?: string;
      workflowId: string;
      trigger?: LifecycleTrigger;
      startedAt?: string;
      deployments?: DeploymentOutcome[];
      /** The run fell over to a fallback ACME directory: from which, to which, why. */
      fallbacks?: { from: string; to: string; reason: string }[];
    }): Promise<{ sent: boolean; detail: string }> {
      const cert = await getCertificate(deps.db, input.certificateId);
      const name = cert?.commonName ?? `certificate ${input.certificateId}`;
      if (input.outcome === 'skipped') return { sent: false, detail: 'nothing to report' };
      const changed = await recordLifecycleRun(deps.db, {
        certificateId: input.certificateId,
        workflowId: input.workflowId,
        runId: Context.current().info.workflowExecution?.runId ?? input.workflowId,
        trigger: input.trigger ?? 'unknown',
        outcome: input.outcome,
        reason: input.reason ?? null,
        startedAt: input.startedAt ? new Date(input.startedAt) : new Date(),
      });

      if (input.outcome === 'failed') {
        // The first issuance (the run started by creating the certificate, or any run before one
        // succeeded) renews nothing: say what failed.
        const firstIssuance = input.trigger === 'create' || (cert !== undefined && !cert.currentVersionId);
        const { opened, alerted } = await alerter.problem({
          key: incidentKey.renewal(input.certificateId),
          kind: 'renewal-failed',
          certificateId: input.certificateId,
          ...(cert ? { customerId: cert.customerId } : {}),
          title: `certificate ${name}: ${firstIssuance ? 'issuance' : 'renewal'} failed`,
          detail: firstIssuance
            ? `Issuing the first certificate for ${name} failed: none has been issued yet.\n\nReason: ${input.reason ?? 'unknown'}`
            : `Renewing the certificate for ${name} failed.\n\nReason: ${input.reason ?? 'unknown'}`,
        });
        return opened
          ? { sent: alerted, detail: alerted ? 'alert sent' : 'alert pending (the sweep retries it)' }
          : { sent: false, detail: 'the renewal incident is already open; no second alert' };
      }

      await alerter.recovered(incidentKey.renewal(input.certificateId));
      if (input.outcome === 'partial') return { sent: false, detail: 'deploy failures alert per target' };
      if (!deps.alerts.issuedNotices)
        return { sent: false, detail: 'issuance notices are turned off (ALERT_ISSUED_NOTICES)' };
      if (!changed) return { sent: false, detail: 'already notified for this run' };
      const subject = `[CertFleet] Issued ${name}`;
      const body = render('issued', subject, {
        name,
        notAfter: cert?.notAfter?.toISOString(),
        deployments: input.deployments ?? [],
        fallbacks: input.fallbacks ?? [],
        issuedBy: input.fallbacks?.at(-1)?.to,
        link: `${base}/certificates/${input.certificateId}`,
        workflowId: input.workflowId,
        consoleUrl: base,
      });
      const recipients = cert
        ? ((
            await deps.db.query<{ alert_recipients: string[] }>(
              'SELECT alert_recipients FROM customers WHERE id = $1',
              [cert.customerId],
            )
          )[0]?.alert_recipients ?? [])
        : [];
      return mailer.send({ subject, ...body, extraRecipients: recipients });
    },
  };
}

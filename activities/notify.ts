import type { DeploymentOutcome, LifecycleOutcome } from '../temporal/contract';
import { getCertificate } from './db/repositories/certificates';
import type { ActivityDeps } from './deps';
import { createMailer } from './mailer';

export function createNotifyActivities(deps: ActivityDeps) {
  const mailer = createMailer(deps);

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

    /** Emails the outcome of a lifecycle run. Skips (and says so) when no SMTP or no recipient is configured. */
    async sendLifecycleEmail(input: {
      certificateId: string;
      outcome: LifecycleOutcome;
      reason?: string;
      workflowId: string;
      deployments?: DeploymentOutcome[];
    }): Promise<{ sent: boolean; detail: string }> {
      const cert = await getCertificate(deps.db, input.certificateId);
      const name = cert?.commonName ?? `certificate ${input.certificateId}`;
      const link = `${deps.consoleUrl.replace(/\/$/, '')}/certificates/${input.certificateId}`;
      const ok = input.outcome === 'issued';
      const subject =
        ok ? `[CertFleet] Issued ${name}`
        : input.outcome === 'partial' ? `[CertFleet] DEPLOY FAILED: ${name} renewed but not deployed everywhere`
        : `[CertFleet] FAILED: certificate ${name}`;
      const deployed = (input.deployments ?? []).map((d) => `  - ${d.targetName}: ${d.outcome}${d.reason ? ` (${d.reason})` : ''}`);
      const lines = input.outcome === 'failed'
        ? [`Issuing the certificate for ${name} failed.`, '', `Reason: ${input.reason ?? 'unknown'}`]
        : [
            `A new certificate for ${name} was issued and stored.`,
            cert?.notAfter ? `It expires on ${cert.notAfter.toISOString()}.` : '',
            ...(deployed.length ? ['', 'Deployments:', ...deployed] : []),
            ...(input.outcome === 'partial' ? ['', 'Open the certificate in CertFleet to retry the failed targets.'] : []),
          ];
      const text = [...lines, '', `Details: ${link}`, `Workflow: ${input.workflowId}`, '', '-- CertFleet'].join('\n');
      return mailer.send({ subject, text });
    },
  };
}

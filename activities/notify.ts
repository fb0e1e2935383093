import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { FailureType, type DeploymentOutcome, type LifecycleOutcome } from '../temporal/contract';
import { SecretPurpose } from './crypto/secret-box';
import { getCertificate } from './db/repositories/certificates';
import { getSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from './db/repositories/settings';
import type { ActivityDeps } from './deps';
import { classified } from './errors';

interface Transport {
  options: SMTPTransport.Options | string;
  from: string;
  recipients: string[];
}

export function createNotifyActivities(deps: ActivityDeps) {
  /** Database settings win over the environment (SMTP_URL, SMTP_FROM, ALERT_RECIPIENTS). */
  const transport = async (): Promise<Transport | undefined> => {
    const stored = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    if (stored?.host) {
      const auth = stored.username
        ? { auth: { user: stored.username, pass: stored.passwordSealed ? deps.box.openText(stored.passwordSealed, SecretPurpose.smtpPassword) : '' } }
        : {};
      return {
        options: { host: stored.host, port: stored.port, secure: stored.secure, ...auth },
        from: stored.from,
        recipients: stored.recipients,
      };
    }
    if (deps.mail.url) return { options: deps.mail.url, from: deps.mail.from, recipients: deps.mail.recipients };
    return undefined;
  };

  return {
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
      const smtp = await transport();
      if (!smtp || smtp.recipients.length === 0) return { sent: false, detail: 'no SMTP server or recipients configured' };
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
      try {
        const info = (await nodemailer.createTransport(smtp.options).sendMail({ from: smtp.from, to: smtp.recipients, subject, text })) as {
          messageId?: string;
        };
        return { sent: true, detail: `sent to ${smtp.recipients.length} recipient(s) as ${info.messageId ?? 'message'}` };
      } catch (error) {
        throw classified(FailureType.emailFailed, `email: cannot send through SMTP: ${(error as Error).message}`);
      }
    },
  };
}

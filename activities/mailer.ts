import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { FailureType } from '../temporal/contract';
import { SecretPurpose } from './crypto/secret-box';
import { getSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from './db/repositories/settings';
import type { ActivityDeps } from './deps';
import { classified } from './errors';

export interface Mailer {
  /** Sends to the configured recipients; skips (and says so) when no SMTP server or recipient is configured. */
  send(message: { subject: string; text: string }): Promise<{ sent: boolean; detail: string }>;
}

/** SMTP settings stored in the console win over the environment (SMTP_URL, SMTP_FROM, ALERT_RECIPIENTS). */
export function createMailer(deps: Pick<ActivityDeps, 'db' | 'box' | 'mail'>): Mailer {
  const transport = async (): Promise<{ options: SMTPTransport.Options | string; from: string; recipients: string[] } | undefined> => {
    const stored = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    if (stored?.host) {
      const auth = stored.username
        ? { auth: { user: stored.username, pass: stored.passwordSealed ? deps.box.openText(stored.passwordSealed, SecretPurpose.smtpPassword) : '' } }
        : {};
      return { options: { host: stored.host, port: stored.port, secure: stored.secure, ...auth }, from: stored.from, recipients: stored.recipients };
    }
    if (deps.mail.url) return { options: deps.mail.url, from: deps.mail.from, recipients: deps.mail.recipients };
    return undefined;
  };
  return {
    async send({ subject, text }) {
      const smtp = await transport();
      if (!smtp || smtp.recipients.length === 0) return { sent: false, detail: 'no SMTP server or recipients configured' };
      try {
        const info = (await nodemailer.createTransport(smtp.options).sendMail({ from: smtp.from, to: smtp.recipients, subject, text })) as { messageId?: string };
        return { sent: true, detail: `sent to ${smtp.recipients.length} recipient(s) as ${info.messageId ?? 'message'}` };
      } catch (error) {
        throw classified(FailureType.emailFailed, `email: cannot send through SMTP: ${(error as Error).message}`);
      }
    },
  };
}

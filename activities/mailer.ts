import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { FailureType } from '../temporal/contract';
import { openSmtpPassword } from './crypto/bound-secrets';
import { SecretBoxError, type SecretBox } from './crypto/secret-box';
import { getSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from './db/repositories/settings';
import type { ActivityDeps } from './deps';
import { classified } from './errors';

export interface MailMessage {
  subject: string;
  text: string;
  /** The same content as HTML (sent as the alternative part). */
  html?: string;
  /** Also to these (a customer's own recipients), besides the global ones. */
  extraRecipients?: string[];
  /** Only to these, not to the global recipients (a customer's own digest). */
  onlyTo?: string[];
}

export interface Mailer {
  /** Sends to the configured recipients; skips (and says so) when no SMTP server or recipient is configured. */
  send(message: MailMessage): Promise<{ sent: boolean; detail: string }>;
}

/** The SMTP password, opened for the server as it is now: a password sealed for another server is never sent. */
function passwordOf(box: SecretBox, stored: StoredSmtpSettings, sealed: string): string {
  try {
    return openSmtpPassword(box, stored, sealed);
  } catch (error) {
    if (!(error instanceof SecretBoxError)) throw error;
    throw classified(FailureType.emailFailed, 'email: the stored SMTP password belongs to another server (host, port or TLS mode changed); enter it again in Settings → Email');
  }
}

/** SMTP settings stored in the console win over the environment (SMTP_URL, SMTP_FROM, ALERT_RECIPIENTS). */
export function createMailer(deps: Pick<ActivityDeps, 'db' | 'box' | 'mail'>): Mailer {
  const transport = async (): Promise<{ options: SMTPTransport.Options | string; from: string; recipients: string[] } | undefined> => {
    const stored = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    if (stored?.host) {
      const auth = stored.username ? { auth: { user: stored.username, pass: stored.passwordSealed ? passwordOf(deps.box, stored, stored.passwordSealed) : '' } } : {};
      return { options: { host: stored.host, port: stored.port, secure: stored.secure, ...auth }, from: stored.from, recipients: stored.recipients };
    }
    if (deps.mail.url) return { options: deps.mail.url, from: deps.mail.from, recipients: deps.mail.recipients };
    return undefined;
  };
  return {
    async send({ subject, text, html, extraRecipients = [], onlyTo }) {
      const smtp = await transport();
      const to = [...new Set(onlyTo ?? [...(smtp?.recipients ?? []), ...extraRecipients])];
      if (!smtp || to.length === 0) return { sent: false, detail: 'no SMTP server or recipients configured' };
      try {
        const info = (await nodemailer.createTransport(smtp.options).sendMail({ from: smtp.from, to, subject, text, ...(html ? { html } : {}) })) as { messageId?: string };
        return { sent: true, detail: `sent to ${to.length} recipient(s) as ${info.messageId ?? 'message'}` };
      } catch (error) {
        throw classified(FailureType.emailFailed, `email: cannot send through SMTP: ${(error as Error).message}`);
      }
    },
  };
}

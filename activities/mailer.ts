import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { FailureType } from '../temporal/contract';
import { openSmtpPassword } from './crypto/bound-secrets';
import { SecretBoxError, type SecretBox } from './crypto/secret-box';
import { getSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from './db/repositories/settings';
import type { Queryable } from './db/pool';
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
    throw classified(
      FailureType.emailFailed,
      'email: the stored SMTP password belongs to another server (host, port or TLS mode changed); enter it again in Settings → Email',
    );
  }
}

interface SmtpTransport {
  options: SMTPTransport.Options;
  from: string;
  recipients: string[];
  /** Where the password is refused without TLS, what the technician can change (for the error message). */
  plaintextRemedy: string | undefined;
}

const PLAINTEXT_REMEDY_SETTINGS = 'or, not recommended, allow sending the password without TLS in Settings → Email';
const PLAINTEXT_REMEDY_ENV = 'or, not recommended, add ?requireTLS=false to SMTP_URL';

/**
 * SMTP settings stored in the console win over the environment (SMTP_URL, SMTP_FROM, ALERT_RECIPIENTS).
 * A password is sent only over TLS: TLS from the start (port 465), or STARTTLS, which requireTLS makes
 * mandatory, so a server that offers no STARTTLS never sees AUTH. An admin may turn that off for the
 * stored settings (allowPasswordWithoutTls), and SMTP_URL with ?requireTLS=false.
 */
/** SMTP from the environment; settings stored in the database take precedence. */
export interface EnvMailSettings {
  url?: string | undefined;
  from: string;
  recipients: string[];
}

export function createMailer(deps: { db: Queryable; box: SecretBox; mail: EnvMailSettings }): Mailer {
  const transport = async (): Promise<SmtpTransport | undefined> => {
    const stored = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    if (stored?.host) {
      const auth = stored.username
        ? {
            auth: {
              user: stored.username,
              pass: stored.passwordSealed ? passwordOf(deps.box, stored, stored.passwordSealed) : '',
            },
          }
        : {};
      const requireTLS = Boolean(stored.username) && !stored.secure && stored.allowPasswordWithoutTls !== true;
      return {
        options: { host: stored.host, port: stored.port, secure: stored.secure, requireTLS, ...auth },
        from: stored.from,
        recipients: stored.recipients,
        plaintextRemedy: requireTLS ? PLAINTEXT_REMEDY_SETTINGS : undefined,
      };
    }
    if (deps.mail.url) {
      const url = new URL(deps.mail.url);
      const requireTLS = Boolean(url.username || url.password) && url.protocol !== 'smtps:';
      // The URL's own query (?requireTLS=false) wins over this default.
      return {
        options: { url: deps.mail.url, requireTLS },
        from: deps.mail.from,
        recipients: deps.mail.recipients,
        plaintextRemedy: requireTLS ? PLAINTEXT_REMEDY_ENV : undefined,
      };
    }
    return undefined;
  };
  return {
    async send({ subject, text, html, extraRecipients = [], onlyTo }) {
      const smtp = await transport();
      const to = [...new Set(onlyTo ?? [...(smtp?.recipients ?? []), ...extraRecipients])];
      if (!smtp || to.length === 0) return { sent: false, detail: 'no SMTP server or recipients configured' };
      try {
        const info = (await nodemailer
          .createTransport(smtp.options)
          .sendMail({ from: smtp.from, to, subject, text, ...(html ? { html } : {}) })) as { messageId?: string };
        return { sent: true, detail: `sent to ${to.length} recipient(s) as ${info.messageId ?? 'message'}` };
      } catch (error) {
        throw classified(
          FailureType.emailFailed,
          `email: cannot send through SMTP: ${smtpFailure(error, smtp.plaintextRemedy)}`,
        );
      }
    },
  };
}

/** nodemailer's message, with what to do when the password was kept back for want of TLS. */
function smtpFailure(error: unknown, plaintextRemedy: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  if (plaintextRemedy === undefined || (error as { code?: unknown }).code !== 'ETLS') return message;
  return (
    `the server did not set up TLS (${message}), and the SMTP password is only sent over TLS. ` +
    `Turn on STARTTLS on the server, use port 465 with "TLS from the start", ${plaintextRemedy}.`
  );
}

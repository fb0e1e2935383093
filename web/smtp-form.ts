/** Validation of the SMTP settings form (Settings → Email). Pure; used by the web. */
export interface SmtpForm {
  host: string;
  port: number;
  secure: boolean;
  username: string;
  /** Empty: keep the stored password. */
  password: string;
  /** Send the password even where the server offers no TLS (an admin's explicit choice, off by default). */
  allowPasswordWithoutTls: boolean;
  from: string;
  recipients: string[];
}

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const EMAIL = /^[^\s@<>",;]{1,64}@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const FROM = /^(?:[^<>"\r\n]{0,64}<([^<>\s]+)>|([^<>\s]+))$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

export type SmtpFormCheck = { ok: true; value: SmtpForm } | { ok: false; errors: Record<string, string> };

export function checkSmtpForm(body: Record<string, unknown>): SmtpFormCheck {
  const text = (key: string): string => (typeof body[key] === 'string' ? body[key].trim() : '');
  const errors: Record<string, string> = {};
  const host = text('host');
  if (!HOST.test(host) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) errors['host'] = 'Enter the SMTP server host name.';
  const portText = text('port') || '587';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535))
    errors['port'] = 'The port is a number from 1 to 65535 (587 for submission, 465 for TLS).';
  const username = text('username');
  if (username.length > 256) errors['username'] = 'The user name is too long.';
  else if (CONTROL.test(username)) errors['username'] = 'The user name must not contain control characters.';
  const password = typeof body['password'] === 'string' ? body['password'] : '';
  if (password.length > 256) errors['password'] = 'The password is too long.';
  else if (/[\0\r\n]|\p{Cs}/u.test(password))
    errors['password'] =
      'The password must not contain NUL characters, line breaks or ill-formed Unicode (lone surrogates).';
  const from = text('from');
  const fromMatch = FROM.exec(from);
  const fromAddress = fromMatch?.[1] ?? fromMatch?.[2] ?? '';
  if (!EMAIL.test(fromAddress)) errors['from'] = 'Enter the sender, e.g. CertFleet <certfleet@example.com>.';
  const recipients = checkRecipients(text('recipients'));
  if (!recipients.ok) errors['recipients'] = recipients.error;
  else if (recipients.value.length === 0) errors['recipients'] = 'Enter at least one recipient address.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (!recipients.ok) return { ok: false, errors };
  const on = (key: string) => body[key] === true || body[key] === 'on';
  return {
    ok: true,
    value: {
      host,
      port,
      secure: on('secure'),
      username,
      password,
      allowPasswordWithoutTls: on('allowPasswordWithoutTls'),
      from,
      recipients: recipients.value,
    },
  };
}

/** Email addresses separated by commas, semicolons or spaces (at most 50; none is fine). */
export function checkRecipients(text: string): { ok: true; value: string[] } | { ok: false; error: string } {
  const recipients = [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
  if (recipients.length > 50) return { ok: false, error: 'At most 50 recipients.' };
  const bad = recipients.find((r) => !EMAIL.test(r));
  if (bad !== undefined) return { ok: false, error: `"${bad.slice(0, 80)}" is not an email address.` };
  return { ok: true, value: recipients };
}

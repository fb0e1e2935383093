import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';

const DIR = path.join(__dirname, 'templates');
export type AlertTemplate = 'incident' | 'recovery' | 'issued' | 'digest';
export type RenderAlert = (
  name: AlertTemplate,
  subject: string,
  data: Record<string, unknown>,
) => { text: string; html: string };

/**
 * The email templates, compiled once. Every message has a text part (no escaping: it is not HTML)
 * and an HTML part, where Handlebars escapes every value (names come from users and devices).
 */
export function createAlertTemplates(): RenderAlert {
  const hbs = Handlebars.create();
  const compiled = new Map(
    readdirSync(DIR)
      .filter((f) => f.endsWith('.hbs'))
      .map((f) => [
        f.slice(0, -4),
        hbs.compile(readFileSync(path.join(DIR, f), 'utf8'), { strict: false, noEscape: f.endsWith('.txt.hbs') }),
      ]),
  );
  const get = (name: string) => {
    const template = compiled.get(name);
    if (!template) throw new Error(`alerts: no template ${name}`);
    return template;
  };
  return (name, subject, data) => ({
    text: get(`${name}.txt`)(data),
    html: get('layout.html')({ ...data, subject, body: get(`${name}.html`)(data) }),
  });
}

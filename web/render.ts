import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Request, Response } from 'express';
import { registerHelpers } from './views/helpers';

const VIEWS = path.join(__dirname, 'views');

export interface Views {
  /** Renders a page inside the layout; htmx requests for a fragment use `partial`. */
  page(req: Request, res: Response, name: string, data: Record<string, unknown>, status?: number): void;
  /** Renders a partial alone (an htmx fragment). */
  partial(res: Response, name: string, data: Record<string, unknown>, status?: number): void;
}

function walk(dir: string, prefix = ''): { name: string; file: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(file, `${prefix}${entry.name}/`);
    return entry.name.endsWith('.hbs') ? [{ name: `${prefix}${entry.name.slice(0, -4)}`, file }] : [];
  });
}

/** Compiles every template once at start-up. */
export function createViews(): Views {
  const hbs = Handlebars.create();
  registerHelpers(hbs);
  for (const { name, file } of walk(path.join(VIEWS, 'partials')))
    hbs.registerPartial(name, readFileSync(file, 'utf8'));
  const compile = (dir: string) =>
    new Map(
      walk(path.join(VIEWS, dir)).map(({ name, file }) => [
        name,
        hbs.compile(readFileSync(file, 'utf8'), { strict: false }),
      ]),
    );
  const pages = compile('pages');
  const layout = hbs.compile(readFileSync(path.join(VIEWS, 'layouts', 'main.hbs'), 'utf8'));
  const partials = new Map(
    walk(path.join(VIEWS, 'partials')).map(({ name, file }) => [name, hbs.compile(readFileSync(file, 'utf8'))]),
  );

  const common = (res: Response): Record<string, unknown> => ({ ...res.locals });
  return {
    page(_req, res, name, data, status = 200) {
      const template = pages.get(name);
      if (!template) throw new Error(`no page template ${name}`);
      const context = { ...common(res), ...data };
      const body = template(context);
      res
        .status(status)
        .type('html')
        .send(layout({ ...context, body }));
    },
    partial(res, name, data, status = 200) {
      const template = partials.get(name);
      if (!template) throw new Error(`no partial template ${name}`);
      res
        .status(status)
        .type('html')
        .send(template({ ...common(res), ...data }));
    },
  };
}

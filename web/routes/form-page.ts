/**
 * The console's form pages (post, redirect, get): a page a GET shows with an empty form, and a POST
 * that redirects (303) when the operation succeeds or shows the page again (400) with the posted
 * values and the field errors when it refuses them.
 */
import type { Request, Response } from 'express';
import type { WebDeps } from '../deps';
import type { Actor, Body, FieldErrors, OpResult } from '../operations/input';
import type { Views } from '../render';

export type PageContext = Record<string, unknown>;

/** Shows the page; `extra` (posted values, field errors, a form error, a one-time result) overrides its context. */
export type FormPage = (req: Request, res: Response, extra?: PageContext, status?: number) => Promise<void>;

/** A form page: `context` reads what the page shows (and the empty form) at each request. */
export function formPage(
  views: Views,
  template: string,
  context: (req: Request, res: Response) => Promise<PageContext>,
): FormPage {
  return async (req, res, extra = {}, status = 200) => {
    views.page(req, res, template, { ...(await context(req, res)), ...extra }, status);
  };
}

/** A console operation on a posted form (web/operations/*): the change, or the field errors. */
export type FormOperation<T> = (deps: WebDeps, actor: Actor, body: Body) => Promise<OpResult<T>>;

/** What a refused form shows again: its values, the field errors and a line above the form. */
export type Refused = (body: Body, errors: FieldErrors) => PageContext;

export const FORM_ERROR = 'Please correct the fields marked below. Nothing was changed.';

/** The posted values back in the form, the field errors, and FORM_ERROR. */
export const refusedForm: Refused = (values, errors) => ({ values, errors, formError: FORM_ERROR });

/**
 * The handler of a form's POST: `operation` on the body, then a redirect (303) to `redirectTo` (or
 * to where it says for the saved value), or `page` again (400) with what `refused` keeps of the form.
 */
export function formPost<T>(
  deps: WebDeps,
  page: FormPage,
  operation: FormOperation<T>,
  redirectTo: string | ((value: T) => string),
  refused: Refused = refusedForm,
) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = req.body as Body;
    const result = await operation(deps, req, body);
    if (!result.ok) return page(req, res, refused(body, result.errors), 400);
    res.redirect(303, typeof redirectTo === 'string' ? redirectTo : redirectTo(result.value));
  };
}

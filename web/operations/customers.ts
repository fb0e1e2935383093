import {
  customerNameTaken,
  customerUsage,
  deleteCustomer as softDeleteCustomer,
  getCustomer,
  insertCustomer,
  listCustomers,
  updateCustomer as saveCustomer,
  type CustomerFields,
  type CustomerRecord,
} from '../../activities/db/repositories/customers';
import { checkRecipients } from '../../activities/domain/smtp-settings';
import type { Queryable } from '../../activities/db/pool';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { refText, done, invalid, printable, text, type Actor, type Body, type FieldErrors, type OpResult } from './input';

async function checkCustomer(db: Queryable, body: Body, exceptId?: string): Promise<OpResult<CustomerFields>> {
  const errors: FieldErrors = {};
  const name = text(body, 'name');
  const notes = typeof body['notes'] === 'string' ? body['notes'].trim() : '';
  if (name.length < 1 || name.length > 100 || !printable(name)) errors['name'] = 'Give the customer a name of 1 to 100 characters (no control characters).';
  else if (await customerNameTaken(db, name, exceptId)) errors['name'] = 'Another customer has this name already.';
  if (notes.length > 2000 || !printable(notes, true)) errors['notes'] = 'Notes are at most 2000 characters of text.';
  // The form sends text, JSON clients a list.
  const raw = body['alertRecipients'];
  const recipients = Array.isArray(raw)
    ? raw.every((r) => typeof r === 'string') ? checkRecipients(raw.join(',')) : ({ ok: false, error: 'alertRecipients is a list of email addresses.' } as const)
    : raw === undefined || typeof raw === 'string' ? checkRecipients(raw ?? '') : ({ ok: false, error: 'alertRecipients is a list of email addresses.' } as const);
  if (!recipients.ok) errors['alertRecipients'] = recipients.error;
  return Object.keys(errors).length || !recipients.ok ? invalid(errors) : done({ name, notes, alertRecipients: recipients.value });
}

export async function loadCustomer(db: Queryable, id: unknown): Promise<CustomerRecord> {
  const customer = typeof id === 'string' ? await getCustomer(db, id) : undefined;
  if (!customer) throw new HttpError(404, 'No such customer.');
  return customer;
}

export async function createCustomer(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<CustomerRecord>> {
  const checked = await checkCustomer(deps.db, body);
  if (!checked.ok) return checked;
  const customer = await insertCustomer(deps.db, checked.value);
  await audit(deps.db, actor, { action: 'customer.create', entityType: 'customer', entityId: customer.id, after: checked.value });
  return done(customer);
}

export async function updateCustomer(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<CustomerRecord>> {
  const before = await loadCustomer(deps.db, id);
  const checked = await checkCustomer(deps.db, body, before.id);
  if (!checked.ok) return checked;
  await saveCustomer(deps.db, before.id, checked.value);
  await audit(deps.db, actor, {
    action: 'customer.update', entityType: 'customer', entityId: before.id,
    before: { name: before.name, notes: before.notes, alertRecipients: before.alertRecipients }, after: checked.value,
  });
  return done({ ...before, ...checked.value });
}

/** Only an empty customer can be deleted: certificates and targets must move or go first. */
export async function deleteCustomer(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const customer = await loadCustomer(deps.db, id);
  const usage = await customerUsage(deps.db, customer.id);
  if (usage.certificates > 0 || usage.targets > 0) {
    throw new HttpError(409, `${customer.name} still has ${usage.certificates} certificate(s) and ${usage.targets} target(s). Delete them or move them to another customer first.`);
  }
  if ((await listCustomers(deps.db)).length <= 1) throw new HttpError(409, 'This is the last customer; every certificate and target needs one.');
  await softDeleteCustomer(deps.db, customer.id);
  await audit(deps.db, actor, { action: 'customer.delete', entityType: 'customer', entityId: customer.id, before: { name: customer.name, notes: customer.notes, alertRecipients: customer.alertRecipients } });
}

/**
 * The customer a new certificate or target belongs to. Without a choice and with a single customer,
 * that one (installations that do not group by customer never see the field as a hurdle).
 */
export async function chooseCustomer(db: Queryable, body: Body): Promise<{ ok: true; customer: CustomerRecord } | { ok: false; error: string }> {
  const raw = refText(body, 'customerId');
  if (raw) {
    const customer = await getCustomer(db, raw);
    return customer ? { ok: true, customer } : { ok: false, error: 'Choose a customer from the list.' };
  }
  const all = await listCustomers(db);
  if (all.length === 1 && all[0]) return { ok: true, customer: all[0] };
  return { ok: false, error: 'Choose the customer this belongs to.' };
}

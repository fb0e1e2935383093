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
import { checkRecipients } from '../smtp-form';
import type { Queryable } from '../../activities/db/pool';
import { auditedChange } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { displayable, done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import type { ObjectChange } from './input';

async function checkCustomer(db: Queryable, body: Body, exceptId?: string): Promise<OpResult<CustomerFields>> {
  const f = new FieldReader(body);
  const name = f.text('name');
  const notes = f.text('notes', { multiline: true });
  // The form sends text, JSON clients a list.
  const recipients = checkRecipients(f.list('alertRecipients', ','));
  if (name.length < 1 || name.length > 100 || !displayable(name))
    f.fail('name', 'Give the customer a name of 1 to 100 characters (no control or text-direction characters).');
  else if (await customerNameTaken(db, name, exceptId)) f.fail('name', 'Another customer has this name already.');
  if (notes.length > 2000) f.fail('notes', 'Notes are at most 2000 characters of text.');
  if (!recipients.ok) f.fail('alertRecipients', recipients.error);
  return f.ok && recipients.ok ? done({ name, notes, alertRecipients: recipients.value }) : invalid(f.errors);
}

export async function loadCustomer(db: Queryable, id: unknown): Promise<CustomerRecord> {
  const customer = typeof id === 'string' ? await getCustomer(db, id) : undefined;
  if (!customer) throw new HttpError(404, 'No such customer.');
  return customer;
}

/** What the audit log keeps of a customer. */
const customerAuditView = (c: Pick<CustomerRecord, 'name' | 'notes' | 'alertRecipients'>) => ({
  name: c.name,
  notes: c.notes,
  alertRecipients: c.alertRecipients,
});

export async function createCustomer(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<CustomerRecord>> {
  const checked = await checkCustomer(deps.db, body);
  if (!checked.ok) return checked;
  const customer = await auditedChange(
    deps.db,
    actor,
    (tx) => insertCustomer(tx, checked.value),
    (created) => ({ action: 'customer.create', entityType: 'customer', entityId: created.id, after: checked.value }),
  );
  return done(customer);
}

export const updateCustomer: ObjectChange<Body, CustomerRecord> = async (deps, actor, id, body) => {
  const before = await loadCustomer(deps.db, id);
  const checked = await checkCustomer(deps.db, body, before.id);
  if (!checked.ok) return checked;
  await auditedChange(deps.db, actor, (tx) => saveCustomer(tx, before.id, checked.value), {
    action: 'customer.update',
    entityType: 'customer',
    entityId: before.id,
    before: customerAuditView(before),
    after: checked.value,
  });
  return done({ ...before, ...checked.value });
};

/** Only an empty customer can be deleted: certificates and targets must move or go first. */
export async function deleteCustomer(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const customer = await loadCustomer(deps.db, id);
  const usage = await customerUsage(deps.db, customer.id);
  if (usage.certificates > 0 || usage.targets > 0) {
    throw new HttpError(
      409,
      `${customer.name} still has ${usage.certificates} certificate(s) and ${usage.targets} target(s). Delete them or move them to another customer first.`,
    );
  }
  if ((await listCustomers(deps.db)).length <= 1)
    throw new HttpError(409, 'This is the last customer; every certificate and target needs one.');
  await auditedChange(deps.db, actor, (tx) => softDeleteCustomer(tx, customer.id), {
    action: 'customer.delete',
    entityType: 'customer',
    entityId: customer.id,
    before: customerAuditView(customer),
  });
}

/**
 * The customer a new certificate or target belongs to (`customerId`, read by `f`). Without a choice
 * and with a single customer, that one (installations that do not group by customer never see the
 * field as a hurdle). A customerId of the wrong type is an error recorded in `f`.
 */
export async function chooseCustomer(
  db: Queryable,
  f: FieldReader,
): Promise<{ ok: true; customer: CustomerRecord } | { ok: false; error: string }> {
  const raw = f.ref('customerId');
  if (f.errors['customerId']) return { ok: false, error: f.errors['customerId'] };
  if (raw) {
    const customer = await getCustomer(db, raw);
    return customer ? { ok: true, customer } : { ok: false, error: 'Choose a customer from the list.' };
  }
  const all = await listCustomers(db);
  if (all.length === 1 && all[0]) return { ok: true, customer: all[0] };
  return { ok: false, error: 'Choose the customer this belongs to.' };
}

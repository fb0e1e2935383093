/**
 * PAN-OS preflight (docs/vendors/panos.md): the key, the firmware and whether the device is a firewall
 * or a Panorama (and the configured kind fits it), the templates and stacks that exist, the config and
 * commit locks, the profiles and the admin GUI a deploy would change. Changes nothing.
 */
import { FailureType } from '../../../temporal/contract';
import { ClassifiedError } from '../../errors';
import type { PreflightCheck, PreflightReport } from '../types';
import { childOf, childrenOf, type PanosClient } from './client';
import type { PanosKeySession } from './api-key';
import type { PanosBindings } from './bindings';
import type { PanosCommitter } from './commit';
import type { PanosBinding, PanosCredentials, PanosOptions } from './descriptor';
import { ensureSuccess } from './failures';
import { isPanoramaModel, TEMPLATE_STACKS, TEMPLATES, type PanosScope } from './xpaths';

export interface PreflightDeps {
  client: PanosClient;
  session: PanosKeySession;
  bindings: PanosBindings;
  committer: PanosCommitter;
  credentials: PanosCredentials;
  options: PanosOptions;
  scope: PanosScope;
  binding?: PanosBinding;
  bindingErrors: Record<string, string>;
}

/** A check that reads the device: a refusal becomes a failed check; an unreachable device still throws. */
async function checked(
  checks: PreflightCheck[],
  name: string,
  work: () => Promise<PreflightCheck | undefined>,
): Promise<void> {
  try {
    const check = await work();
    if (check) checks.push(check);
  } catch (error) {
    if (
      error instanceof ClassifiedError &&
      error.type !== FailureType.targetUnreachable &&
      error.type !== FailureType.targetTlsUntrusted
    )
      checks.push({ name, ok: false, detail: error.message });
    else throw error;
  }
}

export async function panosPreflight(d: PreflightDeps): Promise<PreflightReport> {
  const { session, bindings, options, scope } = d;
  const checks: PreflightCheck[] = [];
  const changes: string[] = [];
  await session.ensureKey();
  const keyDetail = {
    configured: 'the configured API key is accepted',
    cached: 'the cached API key is still valid',
    generated: `generated a new API key for admin ${d.credentials.username}`,
  };
  checks.push({ name: 'API key', ok: true, detail: keyDetail[session.info().source ?? 'generated'] });
  if (!session.info().swVersion) {
    const version = await session.keyed((key) => d.client.version(key));
    ensureSuccess('version', version.reply);
    session.remember(version);
  }
  const { swVersion, model } = session.info();
  const firmware = `PAN-OS ${swVersion ?? '?'}${model ? ` (${model})` : ''}`;
  checks.push({ name: 'firmware', ok: true, detail: firmware });

  // Firewall or Panorama (pan-chainguard guard.py: type=version model "Panorama").
  const panorama = isPanoramaModel(model);
  const fits = panorama === (options.kind !== 'firewall');
  const wanted =
    options.kind === 'firewall'
      ? 'a firewall'
      : options.kind === 'panorama'
        ? "Panorama's own certificate"
        : `Panorama ${options.kind} ${options.kind === 'template' ? options.template : `${options.templateStack} (template ${options.template})`}`;
  checks.push({
    name: 'device type',
    ok: fits,
    detail: fits
      ? `${panorama ? 'Panorama' : 'firewall'}: deploys to ${wanted}`
      : panorama
        ? `${firmware} is a Panorama: choose the kind panorama (its own certificate), template or template-stack`
        : `${firmware} is a firewall, not a Panorama: choose the kind firewall`,
  });
  if (!fits) return { firmware, checks, changes };

  if (panorama) {
    await checked(checks, 'templates', async () => {
      const templates = await bindings.entryNames(TEMPLATES, 'template');
      const stacks = await bindings.entryNames(TEMPLATE_STACKS, 'template-stack');
      const offered = `templates: ${templates.join(', ') || '(none)'}; template stacks: ${stacks.join(', ') || '(none)'}`;
      if (options.kind === 'panorama')
        return { name: 'templates', ok: true, detail: `Panorama's own certificate (/config/panorama); ${offered}` };
      if (!templates.includes(options.template ?? ''))
        return { name: 'templates', ok: false, detail: `template "${options.template}" does not exist; ${offered}` };
      if (options.kind === 'template')
        return { name: 'templates', ok: true, detail: `template ${options.template} exists; ${offered}` };
      if (!stacks.includes(options.templateStack ?? ''))
        return {
          name: 'templates',
          ok: false,
          detail: `template stack "${options.templateStack}" does not exist; ${offered}`,
        };
      const stack = await d.session.request('read template stack', (key) =>
        d.client.getConfig(key, `${TEMPLATE_STACKS}/entry[@name='${options.templateStack}']/templates`),
      );
      const members = childrenOf(childOf(stack.result, 'templates'), 'member').map((m) => m.text.trim());
      const inStack = members.includes(options.template ?? '');
      return {
        name: 'templates',
        ok: inStack,
        detail: inStack
          ? `template ${options.template} is in stack ${options.templateStack}`
          : `template stack ${options.templateStack} does not include template ${options.template} (it has ${members.join(', ') || 'none'})`,
      };
    });
  }

  await checked(checks, 'locks', async () => {
    const { others, own } = await d.committer.readLocks();
    if (others.length > 0)
      return {
        name: 'locks',
        ok: false,
        detail: `held by another admin: ${others.map((l) => `${l.kind} lock of ${l.admin}${l.created ? ` since ${l.created}` : ''}`).join('; ')}; deploys wait until it is released`,
      };
    return {
      name: 'locks',
      ok: true,
      detail:
        own.length > 0
          ? `only ${d.credentials.username}'s own ${own.map((l) => l.kind).join(' and ')} lock`
          : 'no config or commit lock held by another admin',
    };
  });

  const profiles = d.binding?.profiles ?? [];
  if (!d.binding && Object.keys(d.bindingErrors).some((k) => k !== 'profiles'))
    checks.push({ name: 'binding', ok: false, detail: Object.values(d.bindingErrors).join(' ') });
  if (profiles.length === 0)
    checks.push({ name: 'binding', ok: true, detail: 'no SSL/TLS service profile chosen yet' });
  for (const profile of profiles) {
    await checked(checks, `profile ${profile}`, async () => {
      const state = await bindings.currentCertificate(profile);
      if (!state.exists)
        return {
          name: `profile ${profile}`,
          ok: false,
          detail: `SSL/TLS service profile "${profile}" not found in ${scope.label}`,
        };
      changes.push(`profile ${profile}: ${state.certificate || '(none)'} → new certificate`);
      return {
        name: `profile ${profile}`,
        ok: true,
        detail: `readable; uses certificate ${state.certificate || '(none)'}`,
      };
    });
  }
  if (d.binding?.adminGui && profiles[0]) {
    const first = profiles[0];
    if (scope.push)
      checks.push({
        name: 'admin GUI',
        ok: false,
        detail:
          "the admin GUI binding is for the firewall and panorama kinds; a template's management profile is not set by CertFleet",
      });
    else {
      await checked(checks, 'admin GUI', async () => {
        const current = await bindings.readAdminGui('running');
        changes.push(
          `admin GUI: ${current ? `profile ${current}` : "the device's own certificate"} → profile ${first} (new certificate)`,
        );
        return {
          name: 'admin GUI',
          ok: true,
          detail: `the management interface uses ${current ? `profile ${current}` : "the device's own certificate"}; a deploy makes it use ${first}`,
        };
      });
    }
  }
  return { firmware, checks, changes };
}

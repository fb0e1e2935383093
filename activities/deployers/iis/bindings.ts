/**
 * IIS site bindings (docs/vendors/iis.md): reading them, switching them all or nothing, putting them
 * back, and the binding state CertFleet keeps for rollback (`Site|IP:port:host` → `hash|store|sslFlags`).
 * A copy of the previous state is saved next to the uploads, so a retried activation that finds the
 * bindings switched already still returns what was there before.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { SftpFiles } from '../ssh/remote-files';
import type { SshSession } from '../ssh/session';
import type { BindingState } from '../types';
import { parseSiteBinding } from './descriptor';
import { certInfoOf, isObject, listOf, num, str, type CertInfo, type Json } from './replies';
import {
  buildScript,
  encodeCommand,
  MAX_COMMAND_LENGTH,
  scriptFailure,
  type BindingRef,
  type BindingTarget,
  type CertificateRef,
  type ScriptOperation,
  type ScriptParams,
} from './scripts';
import { C, type IisSession } from './session';
import { putFile, sftpPathOf } from './upload';

export const THUMBPRINT = /^[0-9A-F]{40}$/;
export const STORE_NAME = /^[A-Za-z0-9 _-]{1,64}$/;

/** SNI bindings exist from IIS 8 on. */
export const FIRST_IIS_WITH_SNI = 8;
export const SSL_FLAG_SNI = 1;
/**
 * Microsoft.Web.Administration.SslFlags.CentralCertStore: IIS serves "<host>.pfx" from the
 * Centralized Certificate Store share for such a binding and not the certificate its hash names
 * (win-acme's IISHttpBindingUpdater treats a CentralSsl binding as one without a hash). CertFleet
 * writes to Cert:\LocalMachine only, so it refuses these bindings rather than clear the flag.
 */
export const SSL_FLAG_CENTRAL_CERT_STORE = 2;

export const centralStoreMessage = (refs: BindingRef[]): string =>
  `${refs.map(describeBinding).join(', ')} ${refs.length > 1 ? 'use' : 'uses'} the Centralized Certificate Store (sslFlags bit 2): IIS serves the certificate from the CCS share for ${refs.length > 1 ? 'them' : 'it'}, not one from Cert:\\LocalMachine, and CertFleet does not write to the share. Remove ${refs.length > 1 ? 'them' : 'it'} from the list, or untick "Use Centralized Certificate Store" on the binding in IIS Manager.`;

export interface ReadState {
  found: boolean;
  siteFound: boolean;
  available: string[];
  hash: string;
  store: string;
  sslFlags: number;
  certificate?: CertInfo;
}

const cnOf = (subject: string): string => /CN=([^,]+)/.exec(subject)?.[1]?.trim() ?? (subject || '?');
export const short = (thumbprint: string): string => (thumbprint ? `${thumbprint.slice(0, 12)}…` : '(none)');

export function describeCertificate(hash: string, info: CertInfo | undefined): string {
  if (!hash) return 'no certificate';
  if (!info?.present) return `${short(hash)} (not in the store)`;
  return `${short(hash)} (${cnOf(info.subject)}, expires ${info.notAfter || '?'})`;
}

export const describeBinding = (b: BindingRef): string => `site "${b.site}" binding ${b.bindingInformation}`;

// --- binding state ------------------------------------------------------------------------------

export const stateKey = (b: BindingRef): string => `${b.site}|${b.bindingInformation}`;
const stateValue = (t: BindingTarget): string => `${t.hash}|${t.store}|${t.sslFlags}`;
export const encodeState = (targets: BindingTarget[]): BindingState =>
  Object.fromEntries(targets.map((t) => [stateKey(t), stateValue(t)]));
export const sameTarget = (a: BindingTarget, b: BindingTarget): boolean =>
  a.hash === b.hash && (a.hash === '' || a.store.toLowerCase() === b.store.toLowerCase()) && a.sslFlags === b.sslFlags;

export function decodeStateEntry(key: string, value: string): BindingTarget | undefined {
  const binding = parseSiteBinding(key).binding;
  const match = /^([0-9A-F]{40})?\|([^|]*)\|(\d{1,5})$/.exec(value);
  if (!binding || !match || !(match[1] === undefined || STORE_NAME.test(match[2] ?? ''))) return undefined;
  return {
    site: binding.site,
    bindingInformation: binding.bindingInformation,
    hash: match[1] ?? '',
    store: match[2] || 'My',
    sslFlags: Number(match[3]),
  };
}

export function decodeState(previous: BindingState): BindingTarget[] {
  const targets: BindingTarget[] = [];
  for (const [key, value] of Object.entries(previous)) {
    const target = decodeStateEntry(key, value);
    if (!target)
      throw classified(
        FailureType.validation,
        `${C}: the previous binding state "${key}" = "${value}" is not one CertFleet wrote; set the binding by hand`,
      );
    targets.push(target);
  }
  return targets;
}

/** Greedy split so every command stays within cmd.exe's limit. */
export function batches<T>(items: T[], fits: (batch: T[]) => boolean, what: string): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    if (fits([...current, item])) {
      current.push(item);
      continue;
    }
    if (current.length === 0)
      throw classified(
        FailureType.validation,
        `${C}: ${what}: one item alone makes a command longer than ${MAX_COMMAND_LENGTH} characters`,
      );
    out.push(current);
    current = [item];
    if (!fits(current))
      throw classified(
        FailureType.validation,
        `${C}: ${what}: one item alone makes a command longer than ${MAX_COMMAND_LENGTH} characters`,
      );
  }
  if (current.length > 0) out.push(current);
  return out;
}

export const commandFits = <O extends ScriptOperation>(operation: O, params: ScriptParams[O]): boolean =>
  encodeCommand(buildScript(operation, params)).length <= MAX_COMMAND_LENGTH;

export interface IisBindings {
  /** The current state of bindings (split into several commands when needed) and of the certificates asked about. */
  readBindings: (
    refs: BindingRef[],
    certificates: CertificateRef[],
  ) => Promise<{ states: ReadState[]; certificates: CertInfo[]; sites: string[] }>;
  /** What is missing among `refs`, as a sentence; undefined when every binding exists. */
  missingMessage: (refs: BindingRef[], states: ReadState[], siteNames: string[]) => string | undefined;
  targetOf: (ref: BindingRef, state: ReadState) => BindingTarget;
  /** Sets `desired` where it differs from `before`; all or nothing. */
  applyAll: (desired: BindingTarget[], before: BindingTarget[], what: string) => Promise<void>;
  savedPath: (thumbprint: string) => string;
  readSaved: (ssh: SshSession, thumbprint: string) => Promise<Map<string, BindingTarget>>;
  save: (ssh: SshSession, thumbprint: string, previous: BindingTarget[]) => Promise<void>;
}

export function iisBindings({ run, sftpOf, unexpected }: IisSession, uploadDirectory: string): IisBindings {
  async function readBindings(
    refs: BindingRef[],
    certificates: CertificateRef[],
  ): Promise<{ states: ReadState[]; certificates: CertInfo[]; sites: string[] }> {
    const what = 'reading the site bindings';
    const parts =
      refs.length === 0
        ? [[]]
        : batches(refs, (batch) => commandFits('read-bindings', { bindings: batch, certificates }), what);
    const states: ReadState[] = [];
    let certs: CertInfo[] = [];
    let siteNames: string[] = [];
    for (const [index, part] of parts.entries()) {
      const reply = await run(
        'read-bindings',
        {
          bindings: part.map((b) => ({ site: b.site, bindingInformation: b.bindingInformation })),
          certificates: index === 0 ? certificates : [],
        },
        what,
      );
      const items = listOf(reply['bindings']).filter(isObject);
      for (let i = 0; i < part.length; i++) {
        const item = items.find((it) => num(it, 'i') === i);
        if (!item) throw unexpected(what, reply);
        states.push({
          found: item['found'] === true,
          siteFound: item['siteFound'] !== false,
          available: listOf(item['available']).filter((v): v is string => typeof v === 'string'),
          hash: str(item, 'hash').toUpperCase(),
          store: str(item, 'store') || 'My',
          sslFlags: Math.max(0, num(item, 'sslFlags')),
          ...(certInfoOf(item['certificate']) ? { certificate: certInfoOf(item['certificate']) } : {}),
        });
      }
      if (index === 0)
        certs = listOf(reply['certificates'])
          .map(certInfoOf)
          .filter((c): c is CertInfo => c !== undefined);
      siteNames = listOf(reply['sites']).filter((v): v is string => typeof v === 'string');
    }
    return { states, certificates: certs, sites: siteNames };
  }

  function missingMessage(refs: BindingRef[], states: ReadState[], siteNames: string[]): string | undefined {
    const problems = refs.flatMap((ref, i) => {
      const state = states[i];
      if (!state || state.found) return [];
      if (!state.siteFound) return [`there is no site "${ref.site}" (sites: ${siteNames.join(', ') || 'none'})`];
      return [
        `site "${ref.site}" has no https binding ${ref.bindingInformation} (its https bindings: ${state.available.join(', ') || 'none'})`,
      ];
    });
    return problems.length > 0
      ? `${problems.join('; ')}. Create the https binding in IIS first, or correct the list.`
      : undefined;
  }

  const targetOf = (ref: BindingRef, state: ReadState): BindingTarget => ({
    site: ref.site,
    bindingInformation: ref.bindingInformation,
    hash: state.hash,
    store: state.store,
    sslFlags: state.sslFlags,
  });

  /**
   * Puts every binding of `before` back where it differs from it now. Returns a sentence for the
   * error message.
   */
  async function restore(before: BindingTarget[], scriptNote: string): Promise<string> {
    try {
      const now = await readBindings(before, []);
      const differing = before.filter((b, i) => {
        const state = now.states[i];
        return !state?.found || !sameTarget(targetOf(b, state), b);
      });
      if (differing.length === 0)
        return `${scriptNote}Nothing stays changed: every binding has its previous certificate.`;
      for (const part of batches(
        differing,
        (batch) => commandFits('set-bindings', { bindings: batch }),
        'putting bindings back',
      )) {
        const reply = await run('set-bindings', { bindings: part }, 'putting the bindings back');
        if (reply['ok'] !== true) {
          const failure = isObject(reply['failure']) ? reply['failure'] : {};
          const failed = part[num(failure, 'i')];
          return `${scriptNote}Putting the bindings back failed too${failed ? ` at ${describeBinding(failed)}` : ''}: ${str(failure, 'error').slice(0, 300)}; set ${differing.map(describeBinding).join(', ')} back by hand.`;
        }
      }
      return `${scriptNote}${differing.map(describeBinding).join(', ')} ${differing.length > 1 ? 'were' : 'was'} put back: nothing stays changed.`;
    } catch (error) {
      return `${scriptNote}Putting the bindings back failed too (${error instanceof Error ? error.message : String(error)}); check ${before.map(describeBinding).join(', ')} by hand.`;
    }
  }

  /**
   * Sets `desired` where it differs from `before` (the state read just now). All or nothing: on any
   * failure the changed bindings are put back before the error is thrown.
   */
  async function applyAll(desired: BindingTarget[], before: BindingTarget[], what: string): Promise<void> {
    const changes = desired
      .map((d, i) => ({ d, b: before[i] }))
      .filter((x): x is { d: BindingTarget; b: BindingTarget } => x.b !== undefined && !sameTarget(x.d, x.b));
    if (changes.length === 0) return;
    const parts = batches(
      changes,
      (batch) => commandFits('set-bindings', { bindings: batch.map((x) => x.d) }),
      'switching the bindings',
    );
    const touched: BindingTarget[] = [];
    for (const part of parts) {
      touched.push(...part.map((x) => x.b));
      let reply: Json;
      try {
        reply = await run(
          'set-bindings',
          { bindings: part.map((x) => x.d) },
          `switching ${part.map((x) => describeBinding(x.d)).join(', ')} to ${what}`,
        );
      } catch (error) {
        const note = await restore(touched, '');
        const base =
          error instanceof ClassifiedError
            ? error
            : classified(
                FailureType.targetUnreachable,
                `${C}: ${error instanceof Error ? error.message : String(error)}`,
              );
        throw classified(base.type, `${base.message} ${note}`, base.retryAfterMs);
      }
      if (reply['ok'] === true) continue;
      const failure = isObject(reply['failure']) ? reply['failure'] : undefined;
      const failed = failure ? part[num(failure, 'i')]?.d : undefined;
      if (!failure || !failed) throw unexpected('switching the bindings', reply);
      // The script put the failed binding back itself ("putBack"); the ones it replaced before are
      // put back by restore() below.
      const putBack = str(failure, 'putBack');
      const scriptNote =
        putBack && putBack !== 'ok'
          ? `The script removed ${describeBinding(failed)} and could not add it back with its previous certificate (${putBack.slice(0, 200)}). `
          : '';
      const note = await restore(touched, scriptNote);
      const base = scriptFailure(C, `setting ${describeBinding(failed)} to ${what}`, str(failure, 'error'));
      throw classified(base.type, `${base.message} ${note}`);
    }
  }

  // A copy of the previous state next to the uploads: what a retried activation returns when the
  // first attempt switched the bindings but its result was lost.
  const savedPath = (thumbprint: string): string =>
    sftpPathOf(`${uploadDirectory}\\certfleet-previous-${thumbprint}.json`);

  async function readSaved(ssh: SshSession, thumbprint: string): Promise<Map<string, BindingTarget>> {
    const saved = new Map<string, BindingTarget>();
    try {
      const files = new SftpFiles(await sftpOf(ssh), ssh, C);
      const data = await files.read(savedPath(thumbprint));
      const parsed: unknown = data ? JSON.parse(data.toString('utf8')) : undefined;
      if (isObject(parsed)) {
        for (const [key, value] of Object.entries(parsed)) {
          const target = typeof value === 'string' ? decodeStateEntry(key, value) : undefined;
          if (target) saved.set(key, target);
        }
      }
    } catch {
      // No copy (or unreadable): the current state is what we know.
    }
    return saved;
  }

  async function save(ssh: SshSession, thumbprint: string, previous: BindingTarget[]): Promise<void> {
    try {
      await putFile(
        await sftpOf(ssh),
        savedPath(thumbprint),
        Buffer.from(JSON.stringify(encodeState(previous)), 'utf8'),
      );
    } catch {
      // Best effort: only a retry after a lost result needs it.
    }
  }

  return { readBindings, missingMessage, targetOf, applyAll, savedPath, readSaved, save };
}

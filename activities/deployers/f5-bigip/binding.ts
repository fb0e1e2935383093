/**
 * Binding changes: reading each client-ssl profile's cert-key-chain, replacing them all in ONE
 * transaction (key and certificate change together, so the device's key/cert match check never sees
 * half a pair: f5-ansible issues #1217, #2505), and the rollback state that records them.
 * docs/vendors/f5-bigip.md, "The calls, in order".
 */
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { BindingState } from '../types';
import { BigipHttpError, type BigipCertKeyChainEntry, type BigipClient } from './client';
import { COMPONENT, type Scrub } from './failures';

/** Profile full path → the one cert-key-chain entry CertFleet manages. */
export type Binding = Map<string, BigipCertKeyChainEntry>;

export const baseName = (fullPath: string): string =>
  (fullPath.split('/').pop() ?? fullPath).replace(/\.(crt|key)$/, '');

/** BindingState keys: "<profile full path>#name|cert|key|chain" (object names only, never secrets). */
export function toBindingState(binding: Binding): BindingState {
  const state: BindingState = {};
  for (const [profile, entry] of binding) {
    state[`${profile}#name`] = entry.name;
    state[`${profile}#cert`] = entry.cert;
    state[`${profile}#key`] = entry.key;
    if (entry.chain) state[`${profile}#chain`] = entry.chain;
  }
  return state;
}

export function fromBindingState(state: BindingState): Binding {
  const binding: Binding = new Map();
  for (const [k, value] of Object.entries(state)) {
    const m = /^(\/.+)#(name|cert|key|chain)$/.exec(k);
    if (!m?.[1] || !m[2])
      throw classified(FailureType.validation, `${COMPONENT}: rollback state has an unknown entry "${k}"`);
    const entry = binding.get(m[1]) ?? { name: '', cert: '', key: '' };
    entry[m[2] as 'name' | 'cert' | 'key' | 'chain'] = value;
    binding.set(m[1], entry);
  }
  for (const [profile, entry] of binding) {
    if (!entry.cert || !entry.key)
      throw classified(
        FailureType.validation,
        `${COMPONENT}: rollback state for ${profile} names no certificate and key`,
      );
    if (!entry.name) entry.name = baseName(entry.cert);
  }
  if (binding.size === 0) throw classified(FailureType.validation, `${COMPONENT}: rollback state is empty`);
  return binding;
}

/** Why a profile cannot be bound by CertFleet, or undefined when it has exactly one complete entry. */
export function unbindableReason(entries: BigipCertKeyChainEntry[]): string | undefined {
  const [entry, ...more] = entries;
  if (entry && more.length === 0 && entry.cert && entry.key) return undefined;
  return `${entries.length} cert-key-chain entries; CertFleet replaces the certificate of profiles with exactly one`;
}

/** The current single cert-key-chain entry of each profile; refuses missing and multi-entry profiles. */
export async function readBinding(client: BigipClient, profiles: string[]): Promise<Binding> {
  const binding: Binding = new Map();
  for (const fullPath of profiles) {
    const profile = await client.getClientSslProfile(fullPath);
    if (!profile)
      throw classified(FailureType.targetRejected, `${COMPONENT}: client-ssl profile ${fullPath} does not exist`);
    const reason = unbindableReason(profile.certKeyChain);
    const [entry] = profile.certKeyChain;
    if (reason || !entry)
      throw classified(
        FailureType.targetRejected,
        `${COMPONENT}: client-ssl profile ${fullPath} has ${reason ?? 'no entry'}`,
      );
    binding.set(fullPath, entry);
  }
  return binding;
}

/** Binds every profile in one transaction: all or nothing. `label` names the profiles for messages. */
export async function bindAll(
  client: BigipClient,
  binding: Binding,
  what: string,
  label: (profile: string) => string,
  scrub: Scrub,
): Promise<void> {
  const transId = await client.createTransaction();
  try {
    for (const [profile, entry] of binding)
      await client.patchClientSslProfile(profile, { certKeyChain: [entry] }, transId);
  } catch (error) {
    await client.deleteTransaction(transId).catch(() => undefined);
    throw error;
  }
  const profiles = [...binding.keys()].map(label).join(', ');
  let state;
  try {
    state = await client.commitTransaction(transId);
  } catch (error) {
    if (
      error instanceof BigipHttpError &&
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 401 &&
      error.status !== 403
    ) {
      throw classified(
        FailureType.commitFailed,
        scrub(
          `${COMPONENT}: the device rejected binding ${what} to client-ssl ${profiles} (transaction ${transId}, nothing changed): ${error.deviceMessage}`,
        ),
      );
    }
    throw error;
  }
  if (state.state && state.state !== 'COMPLETED') {
    throw classified(
      FailureType.commitFailed,
      scrub(
        `${COMPONENT}: transaction ${transId} binding ${what} to client-ssl ${profiles} ended ${state.state}: ${state.failureReason ?? 'no reason given'}`,
      ),
    );
  }
}

/**
 * ARI helpers for tests on Pebble: force a renewalInfo answer through Pebble's management API
 * (`POST /set-renewal-info/`, Pebble v2.10 wfe.go SetRenewalInfo: the string is served as the body, even
 * when it is not JSON), issue a certificate straight from Pebble with acme-client (no CertFleet), and
 * a real CA without ARI: Pebble v2.5.1, the last release before ARI (v2.6.0), built with Go into the cache.
 */
import * as acme from 'acme-client';
import type { GoTool } from '../../scripts/temporal/dev-server';
import { trustDirectoryCa } from '../../activities/acme/problems';
import { request, type PebbleStack } from './pebble';

export const PEBBLE_WITHOUT_ARI: GoTool = {
  module: 'github.com/letsencrypt/pebble/v2/cmd/pebble',
  version: 'v2.5.1',
  binary: 'pebble-v2.5.1',
  label: 'Pebble v2.5.1 (no ARI)',
  pathEnvVar: 'PEBBLE_WITHOUT_ARI_PATH',
};

/** Makes Pebble answer `ariResponse` (any string) for this certificate's renewalInfo. */
export async function setRenewalInfo(pebble: PebbleStack, certPem: string, ariResponse: string): Promise<void> {
  const res = await request(`${pebble.managementUrl}/set-renewal-info/`, {
    method: 'POST',
    body: JSON.stringify({ Certificate: certPem, ARIResponse: ariResponse }),
    ca: pebble.caBundlePem,
  });
  if (res.status !== 200) throw new Error(`pebble set-renewal-info: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
}

/** A suggested window entirely in the past: how a CA announces that it will revoke (RFC 9773 §4.2). */
export function pastWindow(explanationURL?: string): string {
  const end = Date.now() - 60_000;
  return JSON.stringify({
    suggestedWindow: { start: new Date(end - 60_000).toISOString(), end: new Date(end).toISOString() },
    ...(explanationURL ? { explanationURL } : {}),
  });
}

/** Issues a certificate for `name` from Pebble with a fresh account; returns the leaf PEM and the client. */
export async function issueFromPebble(
  pebble: PebbleStack,
  name: string,
): Promise<{ certPem: string; client: acme.Client }> {
  trustDirectoryCa(pebble.directoryUrl, pebble.caBundlePem);
  const client = new acme.Client({
    directoryUrl: pebble.directoryUrl,
    accountKey: await acme.crypto.createPrivateEcdsaKey(),
    backoffMin: 100,
    backoffMax: 500,
  });
  const [, csr] = await acme.crypto.createCsr({ altNames: [name] });
  const chain = await client.auto({
    csr,
    termsOfServiceAgreed: true,
    challengePriority: ['dns-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, _challenge, keyAuthorization) =>
      pebble.setTxt(`_acme-challenge.${name}`, keyAuthorization),
    challengeRemoveFn: async () => pebble.clearTxt(`_acme-challenge.${name}`),
  });
  const certPem = acme.crypto.splitPemChain(chain)[0];
  if (!certPem) throw new Error('pebble returned no certificate');
  return { certPem, client };
}

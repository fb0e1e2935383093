/**
 * bench/wire-redaction.ts — the CPU the wire transcript's redaction costs one deploy run (issue 18
 * item 5: CertFleet's own CPU per renewal and deploy). A run's redactor is made with the target's
 * password and the version's RSA key (activities/deploy-secrets.ts), then sees 30 exchanges, each a
 * JSON body of about 2 KB and the session token header the device repeats on every answer (as an F5
 * BIG-IP deploy does). Prints the milliseconds per run and per exchange.
 *
 *   npx tsx bench/wire-redaction.ts [runs]
 */
import { generateKeyPairSync } from 'node:crypto';
import { WireRedactor } from '../activities/domain/wire-redaction';

const runs = Number(process.argv[2] ?? 50);
const EXCHANGES = 30;
const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const body = JSON.stringify({
  kind: 'tm:ltm:profile:client-ssl:client-sslstate',
  name: 'clientssl-fleet-1',
  fullPath: '/Common/clientssl-fleet-1',
  selfLink: 'https://localhost/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-fleet-1?ver=17.1.0',
  certKeyChain: [{ name: 'default', cert: '/Common/certfleet-1.crt', key: '/Common/certfleet-1.key' }],
  description: 'x'.repeat(1500),
});

const started = process.hrtime.bigint();
for (let r = 0; r < runs; r++) {
  const redactor = new WireRedactor({ values: ['admin-password-123'], keyPems: [keyPem] });
  for (let i = 0; i < EXCHANGES; i++) {
    redactor.header('X-F5-Auth-Token', `session-token-${r}-ABCDEFGHIJKLMNOP`);
    redactor.text(body);
  }
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(`# bench/wire-redaction.ts — ${new Date().toISOString()}, ${runs} runs of ${EXCHANGES} exchanges`);
console.log(`${(ms / runs).toFixed(1)} ms per deploy run, ${(ms / runs / EXCHANGES).toFixed(2)} ms per exchange`);

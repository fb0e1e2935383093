import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parse } from 'yaml';

/** No Docker engine runs here: the compose file is validated as data. */
interface Compose {
  services: Record<string, { image?: string; profiles?: string[]; environment?: Record<string, string>; volumes?: string[]; healthcheck?: unknown; ports?: string[] }>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(path.join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8')) as Compose;

it('the SonicWall FTP drop runs only under the "sonicwall" profile, with its password from the environment', () => {
  const ftp = compose.services['ftp'];
  assert.ok(ftp, 'an ftp service');
  assert.deepEqual(ftp.profiles, ['sonicwall']);
  assert.match(ftp.environment?.['USERS'] ?? '', /\$\{CERTFLEET_FTP_PASSWORD:\?/);
  assert.ok(!/password\|/i.test(ftp.environment?.['USERS'] ?? ''), 'no password written into the file');
  assert.ok(ftp.healthcheck, 'a healthcheck');
  const volume = (ftp.volumes ?? [])[0]?.split(':')[0] ?? '';
  assert.ok(volume && compose.volumes && volume in compose.volumes, 'a named volume');
  const env = readFileSync(path.join(__dirname, '..', '..', '.env.example'), 'utf8');
  for (const name of ['CERTFLEET_FTP_PASSWORD', 'CERTFLEET_FTP_PUBLIC_ADDRESS']) assert.match(env, new RegExp(`^${name}=`, 'm'));
});

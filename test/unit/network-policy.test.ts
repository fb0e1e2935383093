/** Target address policy (activities/domain/network-policy.ts) and the coarse device errors non-admins see (web/device-errors.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeviceHttp } from '../../activities/deployers/device-http';
import { connectSsh } from '../../activities/deployers/ssh/session';
import { addressRefusal, checkNetworkList } from '../../activities/domain/network-policy';
import type { ClassifiedError } from '../../activities/errors';
import { coarseDeviceError } from '../../web/device-errors';
import { freePort } from '../support/free-port';

describe('addressRefusal', () => {
  it('always refuses link-local, metadata and "this network" addresses, also IPv4-mapped; allows loopback and the rest by default', () => {
    for (const ip of [
      '169.254.169.254',
      '169.254.0.1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      'febf::1',
      'fd00:ec2::254',
      '0.0.0.0',
      '0.1.2.3',
    ]) {
      assert.match(addressRefusal(ip, []) ?? '', /never use/, ip);
      assert.match(addressRefusal(ip, ['0.0.0.0/0', '::/0']) ?? '', /never use/, `${ip}: no list allows it`);
    }
    for (const ip of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '2001:db8::1', 'fd00:ec2::253', '169.253.255.255'])
      assert.equal(addressRefusal(ip, []), undefined, ip);
  });

  it('with allowed networks, only addresses inside them', () => {
    const allowed = ['10.20.0.0/16', '2001:db8:42::/48', '192.168.1.7/32'];
    for (const ip of ['10.20.0.1', '10.20.255.255', '2001:db8:42::9', '192.168.1.7', '::ffff:10.20.1.1'])
      assert.equal(addressRefusal(ip, allowed), undefined, ip);
    for (const ip of ['10.21.0.1', '127.0.0.1', '::1', '192.168.1.8', '2001:db8:43::1'])
      assert.match(addressRefusal(ip, allowed) ?? '', /not in the networks/, ip);
  });

  it('parses network lists: normalised, duplicates dropped, the first bad entry named', () => {
    assert.deepEqual(checkNetworkList('10.0.0.0/8, 2001:DB8::/32\n192.168.1.1 10.0.0.0/8'), {
      ok: true,
      networks: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.1/32'],
    });
    assert.deepEqual(checkNetworkList(''), { ok: true, networks: [] });
    for (const bad of ['10.0.0.0/33', 'fe80::/129', '10.0.0/8', 'example.com', '10.0.0.0/-1'])
      assert.equal(checkNetworkList(bad).ok, false, bad);
  });
});

describe('coarseDeviceError', () => {
  it('turns the low-level cause into a category and hides IP addresses; keeps host names, fingerprints and times', () => {
    assert.equal(
      coarseDeviceError('f5-bigip: cannot reach lb.example:443 (ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:443)'),
      'f5-bigip: cannot reach lb.example:443 (connection refused)',
    );
    assert.equal(
      coarseDeviceError(
        'panos: cannot reach 10.1.2.3:443 (UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error (attempted address: 10.1.2.3:443, timeout: 10000ms))',
      ),
      'panos: cannot reach an internal address (timed out)',
    );
    assert.equal(
      coarseDeviceError('x: not trusted (CERT_PIN_MISMATCH: presented ab, not cd). Pin AB:CD:EF:01'),
      'x: not trusted (TLS certificate not trusted). Pin AB:CD:EF:01',
    );
    assert.equal(
      coarseDeviceError('nginx: SSH [fd12::7]:22: timed out at 12:30:45'),
      'nginx: SSH an internal address: timed out at 12:30:45',
    );
    assert.equal(
      coarseDeviceError('a: refused to connect: fw resolves to 169.254.169.254: no'),
      'a: refused to connect: fw resolves to an internal address: no',
    );
  });
});

describe('device connections', () => {
  it('check the address a host name resolves to when they connect, whatever vendor uses them', async () => {
    const port = await freePort();
    const trust = { fingerprintSha256: 'ab'.repeat(32) };
    const outside = createDeviceHttp({ host: 'localhost', port, trust, allowedNetworks: ['10.0.0.0/8'] }, 'fortigate');
    const error = await outside.request('GET', '/api/v2/monitor/system/status').then(
      () => assert.fail('connected'),
      (e: unknown) => e as ClassifiedError,
    );
    assert.equal(error.type, 'TARGET_ADDRESS_REFUSED');
    assert.match(
      error.message,
      /^fortigate: refused to connect: localhost resolves to (127\.0\.0\.1|::1): .*not in the networks targets may point to/,
    );
    // Allowed: the connection goes ahead (and finds nothing listening).
    const inside = createDeviceHttp({ host: 'localhost', port, trust, allowedNetworks: [] }, 'fortigate');
    await assert.rejects(inside.request('GET', '/'), (e: ClassifiedError) => e.type === 'TARGET_UNREACHABLE');
  });

  it('SSH connections check the address too, before any byte of SSH is sent', async () => {
    const port = await freePort();
    const login = {
      component: 'nginx',
      host: 'localhost',
      port,
      hostKeySha256: 'SHA256:' + 'A'.repeat(43),
      username: 'deploy',
      password: 'ssh-password-1',
    };
    await assert.rejects(connectSsh({ ...login, allowedNetworks: ['10.0.0.0/8'] }), (e: ClassifiedError) => {
      assert.equal(e.type, 'TARGET_ADDRESS_REFUSED');
      assert.match(e.message, /^nginx: refused to connect: localhost resolves to (127\.0\.0\.1|::1): /);
      return true;
    });
    await assert.rejects(
      connectSsh({ ...login, allowedNetworks: [] }),
      (e: ClassifiedError) => e.type === 'TARGET_UNREACHABLE',
    );
  });
});

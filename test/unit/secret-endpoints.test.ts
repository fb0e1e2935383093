/** Secrets bound to their endpoint: the AAD of the secret box, and the endpoint of each kind of owner. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  openDnsSecrets,
  openSmtpPassword,
  openTargetCredentials,
  sealDnsSecret,
  sealSmtpPassword,
  sealTargetCredentials,
} from '../../activities/crypto/bound-secrets';
import { createSecretBox, SecretBoxError, SecretPurpose } from '../../activities/crypto/secret-box';
import { checkApiBaseUrl } from '../../activities/domain/api-base-url';
import {
  describeEndpoint,
  dnsProviderEndpoint,
  smtpEndpoint,
  targetEndpoint,
  type TargetEndpointFields,
} from '../../activities/domain/secret-endpoints';
import { SONICWALL_FTP_OPTIONS } from '../support/appliance-targets';

const box = createSecretBox(randomBytes(32));
const SECRET = 'device-secret-0123456789';

const fortigate: TargetEndpointFields = {
  vendor: 'fortigate',
  host: 'fw.example.test',
  port: 443,
  trustCaPem: null,
  trustFingerprint: 'a'.repeat(64),
  options: { vdom: 'root' },
};
const sonicwall: TargetEndpointFields = {
  vendor: 'sonicwall',
  host: 'sw.example.test',
  port: 443,
  trustCaPem: null,
  trustFingerprint: 'b'.repeat(64),
  options: { ...SONICWALL_FTP_OPTIONS },
};
const nginx: TargetEndpointFields = {
  vendor: 'nginx',
  host: 'web.example.test',
  port: 22,
  trustCaPem: null,
  trustFingerprint: null,
  options: { hostKeySha256: 'SHA256:abc', certPath: '/etc/a.crt' },
};

describe('secret box: endpoint as additional authenticated data', () => {
  it('opens only with the endpoint it was sealed with', () => {
    const sealed = box.seal(SECRET, SecretPurpose.targetCredentials, 'endpoint-a');
    assert.equal(box.openText(sealed, SecretPurpose.targetCredentials, 'endpoint-a'), SECRET);
    for (const other of ['endpoint-b', '', undefined]) {
      assert.throws(
        () => box.openText(sealed, SecretPurpose.targetCredentials, other),
        (e: unknown) => e instanceof SecretBoxError && !e.message.includes(SECRET),
        String(other),
      );
    }
    const unbound = box.seal(SECRET, SecretPurpose.targetCredentials);
    assert.throws(
      () => box.openText(unbound, SecretPurpose.targetCredentials, 'endpoint-a'),
      SecretBoxError,
      'a purpose-only value does not open for an endpoint',
    );
  });

  it('says the endpoint differs, without the secret', () => {
    const sealed = box.seal(SECRET, SecretPurpose.smtpPassword, 'a');
    assert.throws(() => box.openText(sealed, SecretPurpose.smtpPassword, 'b'), /sealed for another endpoint/);
  });
});

describe('target endpoint', () => {
  const moved = (t: TargetEndpointFields, change: Partial<TargetEndpointFields>): boolean =>
    targetEndpoint(t) !== targetEndpoint({ ...t, ...change });

  it('changes with the host, port, trust and the vendor', () => {
    assert.ok(moved(fortigate, { host: 'evil.example.test' }));
    assert.ok(moved(fortigate, { port: 8443 }));
    assert.ok(moved(fortigate, { trustFingerprint: 'c'.repeat(64) }));
    assert.ok(
      moved(fortigate, {
        trustFingerprint: null,
        trustCaPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      }),
    );
    assert.ok(moved(fortigate, { vendor: 'panos' }));
  });

  it('changes with the options marked as endpoint (SonicWall FTP account, SSH host-key pin), not with others', () => {
    for (const [key, value] of [
      ['ftpHost', 'evil.example.test'],
      ['ftpPort', 2121],
      ['ftpUser', 'other'],
      ['ftpUrlHost', '10.0.0.9'],
    ] as const) {
      assert.ok(moved(sonicwall, { options: { ...sonicwall.options, [key]: value } }), key);
    }
    assert.ok(!moved(sonicwall, { options: { ...sonicwall.options, ftpDirectory: 'certs', sslVpnPort: 443 } }));
    assert.ok(moved(nginx, { options: { ...nginx.options, hostKeySha256: 'SHA256:other' } }));
    assert.ok(
      moved(nginx, { options: { certPath: '/etc/a.crt' } }),
      'pinning a host key for the first time is a change too',
    );
    assert.ok(!moved(nginx, { options: { ...nginx.options, certPath: '/etc/b.crt' } }));
    assert.ok(!moved(fortigate, { options: { vdom: 'other' } }));
  });

  it('credentials sealed for a target do not open once the row points elsewhere', () => {
    const sealed = sealTargetCredentials(box, fortigate, { token: SECRET });
    assert.deepEqual(openTargetCredentials(box, { ...fortigate, credentialsSealed: sealed }), { token: SECRET });
    assert.deepEqual(
      openTargetCredentials(box, { ...fortigate, options: { vdom: 'other' }, credentialsSealed: sealed }),
      { token: SECRET },
    );
    assert.throws(
      () => openTargetCredentials(box, { ...fortigate, host: '127.0.0.1', credentialsSealed: sealed }),
      SecretBoxError,
    );
    const ftp = sealTargetCredentials(box, sonicwall, { password: 'p', ftpPassword: SECRET });
    assert.throws(
      () =>
        openTargetCredentials(box, {
          ...sonicwall,
          options: { ...sonicwall.options, ftpHost: 'evil.example.test' },
          credentialsSealed: ftp,
        }),
      SecretBoxError,
    );
  });
});

describe('DNS provider and SMTP endpoints', () => {
  it('a DNS token is bound to the API base URL, not to the zone', () => {
    const provider = { kind: 'cloudflare', config: { zoneName: 'example.test' } as Record<string, unknown> };
    const sealed = sealDnsSecret(box, provider, 'token', SECRET);
    assert.deepEqual(
      openDnsSecrets(box, { ...provider, config: { zoneName: 'other.test' }, secretsSealed: { token: sealed } }),
      { token: SECRET },
    );
    assert.throws(
      () =>
        openDnsSecrets(box, {
          ...provider,
          config: { ...provider.config, apiBaseUrl: 'https://proxy.example' },
          secretsSealed: { token: sealed },
        }),
      SecretBoxError,
    );
    // Each secret field is bound to its name: a value moved to another field does not open.
    const keyId = sealDnsSecret(box, provider, 'accessKeyId', 'AKIDEXAMPLE');
    assert.deepEqual(openDnsSecrets(box, { ...provider, secretsSealed: { token: sealed, accessKeyId: keyId } }), {
      token: SECRET,
      accessKeyId: 'AKIDEXAMPLE',
    });
    assert.throws(
      () => openDnsSecrets(box, { ...provider, secretsSealed: { secretAccessKey: keyId } }),
      SecretBoxError,
    );
    assert.notEqual(
      dnsProviderEndpoint(provider),
      dnsProviderEndpoint({ kind: 'cloudflare', config: { apiBaseUrl: 'https://api.cloudflare.com/client/v4' } }),
    );
  });

  it('an SMTP password is bound to host, port and TLS mode', () => {
    const smtp = { host: 'smtp.example.test', port: 587, secure: false };
    const sealed = sealSmtpPassword(box, smtp, SECRET);
    assert.equal(openSmtpPassword(box, { ...smtp, host: 'SMTP.example.test' }, sealed), SECRET);
    for (const change of [{ host: 'evil.example.test' }, { port: 25 }, { secure: true }]) {
      assert.throws(
        () => openSmtpPassword(box, { ...smtp, ...change }, sealed),
        SecretBoxError,
        JSON.stringify(change),
      );
    }
    assert.equal(smtpEndpoint(smtp), smtpEndpoint({ ...smtp }));
  });

  it('describes an endpoint without a CA bundle body', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBsecretlookingbody\n-----END CERTIFICATE-----\n';
    const described = JSON.stringify(
      describeEndpoint(targetEndpoint({ ...fortigate, trustFingerprint: null, trustCaPem: pem })),
    );
    assert.ok(!described.includes('MIIB'), described);
    assert.match(described, /fw\.example\.test/);
    assert.match(described, /CA bundle sha256:[0-9a-f]{16}/);
  });
});

describe('API base URL of a secret-bearing API', () => {
  it('https only; plain http only to this machine', () => {
    assert.deepEqual(checkApiBaseUrl('https://proxy.example/client/v4/'), {
      ok: true,
      url: 'https://proxy.example/client/v4',
    });
    assert.equal(checkApiBaseUrl('http://127.0.0.1:8080/client/v4').ok, true);
    assert.equal(checkApiBaseUrl('http://localhost:8080').ok, true);
    for (const url of ['http://api.cloudflare.com/client/v4', 'http://10.0.0.1/', 'http://127.0.0.1.evil.example/']) {
      const checked = checkApiBaseUrl(url);
      assert.ok(!checked.ok && /must start with https:\/\//.test(checked.error), url);
    }
    for (const url of ['ftp://proxy.example/', 'https://user:pw@proxy.example/', 'not a url', 'file:///etc/passwd'])
      assert.equal(checkApiBaseUrl(url).ok, false, url);
  });
});

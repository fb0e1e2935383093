/**
 * RFC 7616 Digest as SonicOS "session security" needs it (activities/deployers/sonicwall/digest.ts),
 * checked against the RFC's own example (§3.9.1), independently of the fake SonicWall.
 *
 *   npx tsx --test test/unit/sonicwall-digest.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  digestResponse,
  DigestSigner,
  nextNonceOf,
  parseDigestChallenges,
} from '../../activities/deployers/sonicwall/digest';

// RFC 7616 §3.9.1: user "Mufasa", password "Circle of Life", GET /dir/index.html.
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('sonicwall digest (RFC 7616)', () => {
  it('computes the RFC 7616 §3.9.1 responses for MD5 and SHA-256', () => {
    assert.equal(digestResponse({ ...RFC, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
    assert.equal(
      digestResponse({ ...RFC, algorithm: 'SHA-256' }),
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });

  it('parses joined challenges SHA-256 first, skips what it cannot answer, and reads stale and nextnonce', () => {
    const header =
      'Digest realm="admin-users@10.0.0.1", qop="auth", algorithm=MD5, nonce="n1", opaque="o", Digest realm="admin-users@10.0.0.1", qop="auth, auth-int", algorithm=SHA-256, nonce="n1", opaque="o", stale=true, Digest realm="r", qop="auth-int", algorithm=SHA-256, nonce="x", Digest realm="r", algorithm=SHA-512-256, nonce="y"';
    assert.deepEqual(parseDigestChallenges(header), [
      { realm: 'admin-users@10.0.0.1', nonce: 'n1', opaque: 'o', algorithm: 'SHA-256', stale: true },
      { realm: 'admin-users@10.0.0.1', nonce: 'n1', opaque: 'o', algorithm: 'MD5', stale: false },
    ]);
    assert.deepEqual(parseDigestChallenges('Basic realm="x"'), []);
    assert.deepEqual(parseDigestChallenges(null), []);
    // The proprietary Authentication-Info after a Basic/CHAP login (API guide "Operation After Non-Digest Authentication").
    assert.equal(
      parseDigestChallenges(
        'Digest algorithm=SHA-256, realm="admin-users@a.b.c.d", qop="auth", nonce="abc", opaque="def"',
      )[0]?.nonce,
      'abc',
    );
    assert.equal(nextNonceOf('nextnonce="fresh"'), 'fresh');
    assert.equal(nextNonceOf('rspauth="x"'), undefined);
  });

  it('signs with a nonce count that rises per request and restarts at 1 with a new nonce', () => {
    const signer = new DigestSigner(RFC.username, RFC.password, {
      realm: RFC.realm,
      nonce: RFC.nonce,
      opaque: 'op',
      algorithm: 'SHA-256',
      stale: false,
    });
    const field = (header: string, name: string): string | undefined =>
      new RegExp(`(?:^Digest |, )${name}="?([^",]*)"?`).exec(header)?.[1];
    const first = signer.sign('GET', RFC.uri);
    const second = signer.sign('GET', RFC.uri);
    assert.equal(field(first, 'nc'), '00000001');
    assert.equal(field(second, 'nc'), '00000002');
    assert.equal(field(first, 'qop'), 'auth');
    assert.equal(field(first, 'algorithm'), 'SHA-256');
    assert.equal(field(first, 'opaque'), 'op');
    const cnonce = field(first, 'cnonce') ?? '';
    assert.equal(field(first, 'response'), digestResponse({ ...RFC, algorithm: 'SHA-256', cnonce }));
    signer.renew({ nonce: 'next' });
    const third = signer.sign('PUT', '/api/sonicos/config/pending');
    assert.equal(field(third, 'nc'), '00000001');
    assert.equal(field(third, 'nonce'), 'next');
    assert.ok(!first.includes(RFC.password), 'the password never travels');
  });
});

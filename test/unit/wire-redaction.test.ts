/**
 * Redaction of the wire transcript (issue 12 item 5): secrets removed by their place (headers, JSON
 * members, XML elements, query and form parameters, file parts, raw uploads), by pattern (PEM private
 * keys, base64 DER such as a PKCS#12) and by value in every form the secrets audit searches for.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FormData } from 'undici';
import { buildPfx } from '../../activities/crypto/pem';
import {
  recordCommand,
  recordHttpExchange,
  withWireTranscript,
  type WireExchange,
} from '../../activities/deployers/wire-transcript';
import { base64InStream, WireRedactor } from '../../activities/domain/wire-redaction';
import { createTestCa } from '../support/certificates';
import { Finder, keyNeedles, needlesOf, type Needle } from '../support/secret-forms';

const SECRET = `dev-pw-${randomBytes(18).toString('base64url')}`;

const noSecret = (text: string, needles: Needle[]): void => {
  const hits = new Finder(needles).find(text);
  assert.deepEqual(
    hits.map((h) => `${h.needle.label} (${h.needle.form})`),
    [],
    text,
  );
};

describe('wire transcript redaction', () => {
  const ca = createTestCa();
  const version = ca.issue('vpn.example.test');
  const key = createPrivateKey(version.keyPem);
  ca.dispose();

  it('headers naming a key, token, cookie or authorization are removed; others and a digest challenge stay', () => {
    const r = new WireRedactor();
    for (const name of [
      'Authorization',
      'Cookie',
      'Set-Cookie',
      'X-Auth-Token',
      'X-F5-Auth-Token',
      'X-PAN-KEY',
      'api_key',
    ])
      assert.equal(r.header(name, 'abc123secretvalue'), '(removed)', name);
    assert.equal(r.header('content-type', 'application/json'), 'application/json');
    assert.equal(
      r.header('WWW-Authenticate', 'Digest realm="SonicWall", qop="auth", nonce="abc"'),
      'Digest realm="SonicWall", qop="auth", nonce="abc"',
    );
    // A removed header value is learned: the cookie's value is removed wherever it shows up later.
    r.header('Set-Cookie', 'SessId=cookie-value-0123456789; Path=/');
    assert.equal(r.text('logout SessId cookie-value-0123456789'), 'logout SessId (removed)');
    // The compiled pattern is kept while nothing new is learned, and rebuilt when something is.
    r.header('X-F5-Auth-Token', 'first-token-ABCDEFGH');
    assert.equal(r.text('t=first-token-ABCDEFGH'), 't=(removed)');
    r.header('X-F5-Auth-Token', 'first-token-ABCDEFGH');
    assert.equal(r.text('again first-token-ABCDEFGH'), 'again (removed)');
    r.header('X-F5-Auth-Token', 'second-token-IJKLMNOP');
    assert.equal(
      r.text('first-token-ABCDEFGH then second-token-IJKLMNOP and cookie-value-0123456789'),
      '(removed) then (removed) and (removed)',
    );
  });

  it('JSON members, query and form parameters, XML elements with secret names are removed; a value learned so is removed later, a user name is not', () => {
    const r = new WireRedactor();
    const json = r.json({
      username: 'admin',
      password: SECRET,
      nested: [{ passphrase: 'x-phrase-123456', apiKey: 'k-0123456789', privateKey: 'p', file_content: 'MIIB' }],
      token: { token: 'tok-0123456789abcdef', userName: 'admin' },
    });
    assert.deepEqual(JSON.parse(json), {
      username: 'admin',
      password: '(removed)',
      nested: [{ passphrase: '(removed)', apiKey: '(removed)', privateKey: '(removed)', file_content: '(removed)' }],
      token: '(removed)',
    });
    assert.equal(
      r.url(new URL('https://fw/mgmt/shared/authz/tokens/tok-0123456789abcdef')),
      '/mgmt/shared/authz/tokens/(removed)',
    );
    assert.equal(r.text('user admin'), 'user admin', 'the user name next to the token is not learned');
    assert.equal(
      r.url(new URL('https://fw/api/?type=op&key=LUFRPT1-key-value&cmd=%3Cshow%3E')),
      '/api/?type=op&key=%28removed%29&cmd=%3Cshow%3E',
    );
    assert.equal(
      r.form({ type: 'keygen', user: 'admin', password: SECRET }),
      'type=keygen&user=admin&password=%28removed%29',
    );
    assert.equal(
      r.xml('<response status="success"><result><key>LUFRPT1-other-key</key><msg>ok</msg></result></response>'),
      '<response status="success"><result><key>(removed)</key><msg>ok</msg></result></response>',
    );
    assert.equal(r.text('again LUFRPT1-other-key'), 'again (removed)');
  });

  it('PEM private keys and base64 DER (a PKCS#12) are removed by pattern, whoever sent them', () => {
    const r = new WireRedactor();
    const pfx = buildPfx({
      keyPem: version.keyPem,
      certPem: version.certPem,
      chainPems: version.chainPems,
      password: 'pfx-password-1',
      friendlyName: 'x',
      algorithm: 'aes256',
    });
    const text = r.body(
      JSON.stringify({ note: `here ${version.keyPem}`, blob: pfx.toString('base64') }),
      'application/json',
    );
    assert.match(text, /\(PEM private key removed\)/);
    assert.match(text, /\(base64, \d+ bytes, removed\)/);
    noSecret(text, keyNeedles('key', 'version key', version.keyPem, key));
  });

  it('base64InStream gives the characters a value becomes inside a longer base64 stream, at each alignment', () => {
    for (const length of [1, 2, 3, 16, 17, 18]) {
      const data = randomBytes(length);
      for (const url of [false, true]) {
        const forms = base64InStream(data, url);
        assert.equal(forms.length, 3);
        for (let k = 0; k < 3; k++) {
          for (let tail = 0; tail < 3; tail++) {
            const stream = Buffer.concat([randomBytes(3 + k), data, randomBytes(tail)]);
            assert.ok(stream.toString(url ? 'base64url' : 'base64').includes(forms[k]!), `length ${length}, k ${k}`);
          }
        }
      }
    }
  });

  it('every known value is removed in every form the secrets audit searches for', () => {
    const r = new WireRedactor({ values: [SECRET], keyPems: [version.keyPem] });
    const needles = [
      ...needlesOf('pw', 'device password', [{ form: 'plain', text: SECRET }]),
      ...keyNeedles('key', 'version key', version.keyPem, key),
    ];
    // Each form planted in text the structure does not explain: a log line, a base64 payload at each alignment, hex.
    const json = JSON.stringify({ value: SECRET });
    const planted = [
      ...needles.map((n) => `device said: ${n.text} (end)`),
      ...[0, 1, 2].map((k) => Buffer.concat([randomBytes(k), Buffer.from(json)]).toString('base64')),
      ...[0, 1, 2].map((k) => Buffer.concat([randomBytes(k), Buffer.from(json)]).toString('base64url')),
      `0x${Buffer.from(SECRET).toString('hex')}`,
      JSON.stringify({ d: key.export({ format: 'jwk' }).d }),
    ];
    for (const text of planted) noSecret(r.text(text), needles);
  });

  it('a recorded exchange: file parts and raw uploads by their size only, the secret header removed, outside a recording nothing', async () => {
    assert.equal(recordHttpExchange({ method: 'GET', url: new URL('https://fw/'), headers: {} }), undefined);
    const form = new FormData();
    form.set('category', 'keypair');
    form.set('passphrase', SECRET);
    form.set('file', new Blob([Buffer.from(version.keyPem)]), 'cert.p12');
    let saved: WireExchange[] = [];
    await withWireTranscript(
      new WireRedactor({ values: [SECRET] }),
      async () => {
        const one = recordHttpExchange({
          method: 'POST',
          url: new URL('https://fw/api/?type=import'),
          headers: { 'X-PAN-KEY': 'LUFRPT1-header-key' },
          multipart: form,
        });
        one?.answered(200, new Headers({ 'content-type': 'application/xml' }), '<response status="success"/>');
        recordHttpExchange({
          method: 'POST',
          url: new URL('https://fw/upload'),
          headers: {},
          bytes: Buffer.from(version.keyPem),
        })?.failed(new Error(`socket hang up ${SECRET}`));
        // IIS: a short script whose base64 would pass the patterns, holding a password nobody told the redactor.
        const script = Buffer.from('$p = "password-in-script"', 'utf16le').toString('base64');
        recordCommand(`powershell.exe -NoProfile -NonInteractive -EncodedCommand ${script}`, undefined, {
          code: 0,
          stdout: Buffer.from('{"ok":true}'),
          stderr: '',
        });
      },
      async (exchanges) => {
        saved = exchanges;
      },
    );
    const text = saved.map((e) => e.text).join('\n');
    assert.match(text, /part category: keypair/);
    assert.match(text, /part passphrase: \(removed\)/);
    assert.match(text, new RegExp(`part file: \\(file part, ${Buffer.byteLength(version.keyPem)} bytes, removed\\)`));
    assert.match(text, /x-pan-key: \(removed\)/i);
    assert.match(text, /\(binary body, \d+ bytes, removed\)/);
    assert.match(text, /< \(no answer: socket hang up \(removed\)\)/);
    assert.match(text, /-EncodedCommand \(encoded script removed\)\nexit status 0\nstdout:\n\{"ok":true\}/);
    assert.ok(!text.includes(Buffer.from('password-in-script', 'utf16le').toString('base64').slice(4, 40)));
    noSecret(text, [
      ...needlesOf('pw', 'passphrase', [{ form: 'plain', text: SECRET }]),
      ...keyNeedles('key', 'version key', version.keyPem, key),
    ]);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretBox, SecretBoxError, SecretPurpose } from '../../activities/crypto/secret-box';

const PLAINTEXT = 'cf-token-SUPER-SECRET-0123456789';
const PURPOSE = SecretPurpose.dnsProviderToken;

function parts(sealed: string): [string, Buffer, Buffer, Buffer] {
  const p = sealed.split('.');
  assert.equal(p.length, 4);
  return [
    p[0] ?? '',
    Buffer.from(p[1] ?? '', 'base64url'),
    Buffer.from(p[2] ?? '', 'base64url'),
    Buffer.from(p[3] ?? '', 'base64url'),
  ];
}

function join(version: string, iv: Buffer, tag: Buffer, data: Buffer): string {
  return [version, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join('.');
}

function assertRefused(fn: () => unknown, plaintext = PLAINTEXT): SecretBoxError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SecretBoxError, `expected SecretBoxError, got ${String(caught)}`);
  assert.equal(caught.name, 'SecretBoxError');
  assert.ok(!caught.message.includes(plaintext), 'error message leaks the plaintext');
  return caught;
}

describe('secret box (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const box = createSecretBox(key);

  it('round-trips text and binary', () => {
    const sealed = box.seal(PLAINTEXT, PURPOSE);
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes(PLAINTEXT));
    assert.equal(box.openText(sealed, PURPOSE), PLAINTEXT);
    const binary = randomBytes(300);
    assert.deepEqual(box.open(box.seal(binary, PURPOSE), PURPOSE), binary);
    assert.equal(box.openText(box.seal('', PURPOSE), PURPOSE), '');
    assert.equal(box.openText(box.seal('ünïcødé ✓', PURPOSE), PURPOSE), 'ünïcødé ✓');
  });

  it('another box with the same key opens it (nothing but the key is needed)', () => {
    const sealed = box.seal(PLAINTEXT, PURPOSE);
    assert.equal(createSecretBox(Buffer.from(key)).openText(sealed, PURPOSE), PLAINTEXT);
  });

  it('uses a fresh 12-byte IV each time', () => {
    const a = box.seal(PLAINTEXT, PURPOSE);
    const b = box.seal(PLAINTEXT, PURPOSE);
    assert.notEqual(a, b);
    const [, ivA] = parts(a);
    const [, ivB] = parts(b);
    assert.equal(ivA.length, 12);
    assert.ok(!ivA.equals(ivB));
    const ivs = new Set(Array.from({ length: 50 }, () => parts(box.seal('x', PURPOSE))[1].toString('hex')));
    assert.equal(ivs.size, 50);
  });

  it('uses a full 16-byte tag', () => {
    const [, , tag] = parts(box.seal(PLAINTEXT, PURPOSE));
    assert.equal(tag.length, 16);
  });

  it('a wrong key fails with SecretBoxError that does not contain the plaintext', () => {
    const sealed = box.seal(PLAINTEXT, PURPOSE);
    const other = createSecretBox(randomBytes(32));
    const error = assertRefused(() => other.openText(sealed, PURPOSE));
    assert.match(error.message, /master key does not match/);
    assertRefused(() => other.open(sealed, PURPOSE));
  });

  it('a wrong purpose (AAD) fails', () => {
    const sealed = box.seal(PLAINTEXT, SecretPurpose.dnsProviderToken);
    assertRefused(() => box.openText(sealed, SecretPurpose.acmeAccountKey));
    assertRefused(() => box.openText(sealed, ''));
  });

  it('tampered ciphertext, tag or IV fails', () => {
    const [v, iv, tag, data] = parts(box.seal(PLAINTEXT, PURPOSE));
    const flip = (b: Buffer, i: number): Buffer => {
      const c = Buffer.from(b);
      c[i] = (c[i] ?? 0) ^ 0x01;
      return c;
    };
    assertRefused(() => box.openText(join(v, iv, tag, flip(data, 0)), PURPOSE));
    assertRefused(() => box.openText(join(v, iv, tag, flip(data, data.length - 1)), PURPOSE));
    assertRefused(() => box.openText(join(v, iv, flip(tag, 5), data), PURPOSE));
    assertRefused(() => box.openText(join(v, flip(iv, 0), tag, data), PURPOSE));
    assertRefused(() => box.openText(join(v, iv, tag, data.subarray(0, data.length - 1)), PURPOSE));
    assertRefused(() => box.openText(join(v, iv, tag, Buffer.concat([data, Buffer.from([0])])), PURPOSE));
  });

  it('a truncated authentication tag is refused (tag length must be 16 bytes)', () => {
    // Regression guard (was a bug: activities/crypto/secret-box.ts, open(): createDecipheriv('aes-256-gcm', …) without
    // { authTagLength: 16 } and no tag length check): Node accepts GCM tags of 4, 8 and 12–16 bytes, so a
    // sealed value whose tag was cut to 4 bytes still opens; forging one then needs ~2^32 tries instead of 2^128.
    const [v, iv, tag, data] = parts(box.seal(PLAINTEXT, PURPOSE));
    for (const length of [12, 8, 4]) {
      let opened: string | undefined;
      let caught: unknown;
      try {
        opened = box.openText(join(v, iv, tag.subarray(0, length), data), PURPOSE);
      } catch (error) {
        caught = error;
      }
      assert.ok(
        caught instanceof SecretBoxError,
        `secret-box.ts: a sealed value with its GCM tag truncated to ${length} bytes was opened (${opened === PLAINTEXT ? 'plaintext returned' : String(caught)}); pass { authTagLength: 16 } to createDecipheriv or check the tag length`,
      );
    }
  });

  it('malformed input fails with SecretBoxError', () => {
    const sealed = box.seal(PLAINTEXT, PURPOSE);
    const [, iv, tag, data] = parts(sealed);
    for (const bad of [
      '',
      'garbage',
      PLAINTEXT,
      'v1.a.b',
      'v1.a.b.c.d',
      'v2' + sealed.slice(2),
      join('v1', Buffer.alloc(0), tag, data),
      join('v1', iv, Buffer.alloc(0), data),
      'v1...',
      'v1.!!!.???.***',
    ]) {
      assertRefused(() => box.open(bad, PURPOSE));
    }
  });

  it('refuses a master key that is not 32 bytes', () => {
    for (const length of [0, 16, 31, 33, 64]) {
      assert.throws(() => createSecretBox(randomBytes(length)), SecretBoxError, String(length));
    }
  });

  it("copies the key: changing the caller's buffer afterwards changes nothing", () => {
    const k = randomBytes(32);
    const b = createSecretBox(k);
    const sealed = b.seal(PLAINTEXT, PURPOSE);
    k.fill(0);
    assert.equal(b.openText(sealed, PURPOSE), PLAINTEXT);
  });

  it('derive: a stable sub-key per label, different per label and per master key', () => {
    const k = randomBytes(32);
    const a = createSecretBox(k);
    assert.deepEqual(a.derive('session'), createSecretBox(Buffer.from(k)).derive('session'));
    assert.equal(a.derive('session').length, 32);
    assert.equal(a.derive('session', 64).length, 64);
    assert.notDeepEqual(a.derive('session'), a.derive('csrf'));
    assert.notDeepEqual(a.derive('session'), createSecretBox(randomBytes(32)).derive('session'));
    assert.ok(!a.derive('session').equals(k), 'the derived key must not be the master key');
  });

  it('has one distinct purpose per sealed column', () => {
    const values = Object.values(SecretPurpose);
    assert.equal(new Set(values).size, values.length);
  });
});

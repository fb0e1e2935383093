/**
 * The pure rules behind sign-in (issue 11, items 6 and 7): the password policy and its common-password
 * list, TOTP steps (window, no replay) and recovery codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate } from 'otplib';
import {
  hashRecoveryCode,
  looksLikeRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  totpStep,
} from '../../web/mfa';
import { passwordProblem } from '../../web/password-policy';

describe('password policy', () => {
  it('refuses short and long passwords, the user name and common passwords (ignoring case); accepts others', () => {
    assert.match(passwordProblem('short') ?? '', /10 to 128 characters/);
    assert.match(passwordProblem('x'.repeat(129)) ?? '', /10 to 128 characters/);
    assert.match(passwordProblem('Technician-7', 'technician-7') ?? '', /must not be the user name/);
    for (const common of ['password123', 'PASSWORD123', 'qwertyuiop', '1qaz2wsx3edc'])
      assert.match(passwordProblem(common) ?? '', /most common passwords/, common);
    assert.equal(passwordProblem('correct horse battery staple', 'admin'), undefined);
  });
});

describe('TOTP', () => {
  const secret = newTotpSecret();
  const at = (seconds: number) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + seconds });

  it('accepts the current code and one step either side, refuses older ones and malformed input', async () => {
    assert.ok((await totpStep(secret, await at(0), null)) !== undefined);
    assert.ok((await totpStep(secret, await at(30), null)) !== undefined);
    assert.ok((await totpStep(secret, await at(-30), null)) !== undefined);
    assert.equal(await totpStep(secret, await at(-120), null), undefined);
    for (const bad of ['', '12345', '1234567', 'abcdef'])
      assert.equal(await totpStep(secret, bad, null), undefined, bad);
  });

  it('refuses a code of a step already used (a replay), accepts a later one', async () => {
    const code = await at(0);
    const step = (await totpStep(secret, code, null)) as number;
    assert.equal(await totpStep(secret, code, step), undefined);
    assert.ok(((await totpStep(secret, await at(30), step)) ?? 0) > step);
  });

  it('an otpauth:// URI for authenticator apps', () => {
    assert.match(otpauthUri('alice', secret), new RegExp(`^otpauth://totp/CertFleet:alice\\?.*secret=${secret}`));
  });
});

describe('recovery codes', () => {
  it('ten distinct codes; their hash ignores case and the dash', () => {
    const codes = newRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) {
      assert.match(code, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
      assert.ok(looksLikeRecoveryCode(code));
      assert.equal(hashRecoveryCode(code.toUpperCase().replace('-', '')), hashRecoveryCode(code));
    }
    assert.ok(!looksLikeRecoveryCode('123456'));
  });
});

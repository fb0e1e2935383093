import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  challengeRecordName,
  checkCertificateName,
  displayCertificateName,
} from '../../activities/domain/certificate-name';

function accepted(input: unknown): string {
  const r = checkCertificateName(input);
  assert.ok(r.ok, `expected ${JSON.stringify(input)} to be accepted, got ${r.ok ? '' : r.error}`);
  return r.name;
}

function refused(input: unknown, pattern?: RegExp): string {
  const r = checkCertificateName(input);
  assert.ok(!r.ok, `expected ${JSON.stringify(input)} to be refused, got ${r.ok ? r.name : ''}`);
  if (pattern) assert.match(r.error, pattern);
  return r.error;
}

describe('checkCertificateName', () => {
  /** Each case: what is typed, and the name it is accepted as. */
  const acceptedAs: { title: string; names: [input: string, name: string][] }[] = [
    {
      title: 'accepts a plain name as is',
      names: [
        ['www.example.com', 'www.example.com'],
        ['example.com', 'example.com'],
        ['a-b.x1.example.co.uk', 'a-b.x1.example.co.uk'],
      ],
    },
    {
      title: 'drops one trailing dot and surrounding whitespace',
      names: [
        ['www.example.com.', 'www.example.com'],
        ['  www.example.com \n', 'www.example.com'],
      ],
    },
    {
      title: 'lower-cases',
      names: [
        ['WWW.Example.COM', 'www.example.com'],
        ['*.EXAMPLE.com', '*.example.com'],
      ],
    },
    {
      title: 'accepts one wildcard as the whole first label',
      names: [
        ['*.example.com', '*.example.com'],
        ['*.example.com.', '*.example.com'],
      ],
    },
  ];
  for (const { title, names } of acceptedAs) {
    it(title, () => {
      for (const [input, name] of names) assert.equal(accepted(input), name);
    });
  }

  it('refuses wildcards anywhere else', () => {
    for (const name of ['*.*.example.com', 'a.*.example.com', '*', 'w*.example.com', '*example.com', 'www.example.*']) {
      refused(name);
    }
    refused('*.*.x.example', /only allowed as the whole first label/);
    refused('a.*.x.example', /only allowed as the whole first label/);
    refused('*', /wildcard/);
  });

  it('refuses a wildcard directly on a top-level domain', () => {
    refused('*.com', /at least two labels/);
  });

  it('refuses lists (commas, spaces, semicolons)', () => {
    for (const name of [
      'a.example.com,b.example.com',
      'a.example.com, b.example.com',
      'a.example.com b.example.com',
      'a.example.com;b.example.com',
      'a.example.com\tb.example.com',
    ]) {
      refused(name, /One name per certificate/);
    }
  });

  it('converts IDN to punycode', () => {
    const names = ['bücher.example', 'BÜCHER.example', '*.bücher.example', 'xn--bcher-kva.example'];
    const bucher = 'xn--bcher-kva.example';
    assert.deepEqual(names.map(accepted), [bucher, bucher, `*.${bucher}`, bucher]);
  });

  it('labels: 63 characters ok, 64 refused', () => {
    const l63 = 'a'.repeat(63);
    assert.equal(accepted(`${l63}.example.com`), `${l63}.example.com`);
    refused(`${'a'.repeat(64)}.example.com`, /bad label "a{64}"/);
  });

  it('names: 253 characters ok (also with a trailing dot), 254 refused', () => {
    const name253 = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
    assert.equal(name253.length, 253);
    assert.equal(accepted(name253), name253);
    assert.equal(accepted(`${name253}.`), name253);
    const name254 = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)].join('.');
    refused(name254, /longer than 253/);
    refused(`*.${name253}`, /longer than 253/);
  });

  it('refuses an IDN whose punycode form is longer than 253 characters', () => {
    const label = 'ü'.repeat(30); // punycode form is much longer than 30
    const raw = Array.from({ length: 7 }, () => label).join('.') + '.example';
    assert.ok(raw.length <= 253);
    refused(raw, /bad label|longer than 253/);
  });

  it('refuses leading or trailing hyphens in a label', () => {
    refused('-www.example.com', /bad label "-www"/);
    refused('www-.example.com', /bad label "www-"/);
    refused('www.example-.com', /bad label "example-"/);
    assert.equal(accepted('w-w.example.com'), 'w-w.example.com');
  });

  it('refuses empty labels and other characters', () => {
    refused('a..example.com');
    refused('under_score.example.com', /bad label/);
    refused('example.com..');
  });

  it('refuses a single label', () => {
    refused('localhost', /at least two labels/);
    refused('localhost.', /at least two labels/);
  });

  it('refuses IP addresses', () => {
    refused('192.168.1.1', /IP addresses cannot be used/);
    refused('127.0.0.1.', /IP addresses cannot be used/);
    refused('::1');
    refused('[2001:db8::1]');
  });

  it('refuses empty and non-string input', () => {
    for (const input of ['', '   ', '.', undefined, null, 42, {}, ['example.com'], true]) {
      refused(input, /Enter a domain name/);
    }
  });

  it('refuses markup', () => {
    refused('<script>alert(1)</script>');
    refused('<script>.example.com');
    refused('"><img src=x onerror=alert(1)>.example.com');
  });
});

describe('challengeRecordName', () => {
  it('prefixes _acme-challenge and strips the wildcard label', () => {
    assert.equal(challengeRecordName('www.example.com'), '_acme-challenge.www.example.com');
    assert.equal(challengeRecordName('*.example.com'), '_acme-challenge.example.com');
    assert.equal(challengeRecordName('xn--bcher-kva.example'), '_acme-challenge.xn--bcher-kva.example');
  });

  it('a name and its wildcard share one challenge record', () => {
    assert.equal(challengeRecordName('*.example.com'), challengeRecordName('example.com'));
  });
});

describe('displayCertificateName', () => {
  it('shows an IDN in Unicode with its punycode beside it; other names unchanged', () => {
    assert.equal(displayCertificateName('xn--bcher-kva.example'), 'bücher.example (xn--bcher-kva.example)');
    assert.equal(displayCertificateName('*.xn--mller-kva.example'), '*.müller.example (*.xn--mller-kva.example)');
    assert.equal(displayCertificateName('www.example.com'), 'www.example.com');
    assert.equal(
      displayCertificateName('xn--zz.example'),
      'xn--zz.example',
      'a label that does not decode stays as stored',
    );
  });
});

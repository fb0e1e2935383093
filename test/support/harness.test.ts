/**
 * Smoke test of the test harness against the real peers: Pebble + challtestsrv (ACME dns-01 wildcard
 * issuance with acme-client), the Temporal CLI dev server (search attributes, restart with persisted
 * state) and the SMTP catcher (a real nodemailer delivery).
 *
 *   npx tsx --test test/support/harness.test.ts
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as dns from 'node:dns';
import * as https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import * as acme from 'acme-client';
import nodemailer from 'nodemailer';
import { INDEXED_VALUE_TYPE } from '../../temporal/search-attributes';
import { startPebble, type PebbleStack } from './pebble';
import { runningProcessCount } from './process';
import { startSmtpCatcher } from './smtp';
import { suiteResource } from './suite-resource';
import { startTestTemporal, TEST_SEARCH_ATTRIBUTES, type TestTemporal } from './temporal';

interface AcmeSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}

function splitPems(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

describe('pebble + challtestsrv', () => {
  let pebble: PebbleStack;

  before(async () => {
    const t0 = performance.now();
    pebble = await startPebble();
    process.stderr.write(`pebble stack ready in ${Math.round(performance.now() - t0)} ms\n`);
  });

  after(async () => {
    await pebble?.stop();
  });

  it('serves TXT records set through challtestsrv', async () => {
    await pebble.setTxt('_acme-challenge.probe.example.test', 'hello-txt');
    const resolver = new dns.promises.Resolver({ timeout: 1_000, tries: 2 });
    resolver.setServers([pebble.dnsServer]);
    assert.deepEqual(await resolver.resolveTxt('_acme-challenge.probe.example.test'), [['hello-txt']]);
    await pebble.clearTxt('_acme-challenge.probe.example.test');
    await assert.rejects(resolver.resolveTxt('_acme-challenge.probe.example.test'));
  });

  it('issues a wildcard certificate with acme-client (dns-01) that chains to /roots/0', async () => {
    // Trust Pebble's listener CA for acme-client's HTTP only (no global TLS changes).
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: pebble.caBundlePem });
    const settings = (acme.axios.defaults as unknown as { acmeSettings: AcmeSettings }).acmeSettings;
    settings.retryMaxAttempts = 3;
    settings.retryDefaultDelay = 0;

    const client = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      backoffAttempts: 10,
      backoffMin: 100,
      backoffMax: 500,
    });
    const [, csr] = await acme.crypto.createCsr({ commonName: '*.example.test', altNames: ['*.example.test'] });

    const published: string[] = [];
    const t0 = performance.now();
    const chain = await client.auto({
      csr,
      email: 'ops@example.test',
      termsOfServiceAgreed: true,
      challengePriority: ['dns-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        assert.equal(challenge.type, 'dns-01');
        assert.equal(authz.wildcard, true);
        const name = `_acme-challenge.${authz.identifier.value}`;
        published.push(name);
        // For dns-01, keyAuthorization is already the TXT value.
        await pebble.setTxt(name, keyAuthorization);
      },
      challengeRemoveFn: async (authz) => {
        await pebble.clearTxt(`_acme-challenge.${authz.identifier.value}`);
      },
    });
    process.stderr.write(`wildcard issuance took ${Math.round(performance.now() - t0)} ms\n`);
    assert.deepEqual(published, ['_acme-challenge.example.test']);

    const pems = splitPems(chain);
    assert.ok(pems.length >= 2, `expected leaf + intermediate, got ${pems.length} certs`);
    const leaf = new X509Certificate(pems[0] ?? '');
    const intermediate = new X509Certificate(pems[1] ?? '');
    const root = new X509Certificate(await pebble.rootPem());
    assert.match(leaf.subjectAltName ?? '', /DNS:\*\.example\.test/);
    assert.ok(leaf.checkIssued(intermediate), 'leaf issued by intermediate');
    assert.ok(leaf.verify(intermediate.publicKey), 'leaf signature verifies with intermediate key');
    assert.ok(intermediate.checkIssued(root), 'intermediate issued by root');
    assert.ok(intermediate.verify(root.publicKey), 'intermediate signature verifies with root key');
    assert.ok(root.verify(root.publicKey), 'root is self-signed');
    assert.equal(intermediate.fingerprint256, new X509Certificate(await pebble.intermediatePem()).fingerprint256);
    // Pebble's listener CA is a different CA from the issuing root.
    assert.ok(!leaf.checkIssued(new X509Certificate(pebble.caBundlePem)));
  });
});

describe('temporal dev server', () => {
  let temporal: TestTemporal;

  before(async () => {
    const t0 = performance.now();
    temporal = await startTestTemporal();
    process.stderr.write(`temporal dev server ready in ${Math.round(performance.now() - t0)} ms\n`);
  });

  after(async () => {
    await temporal?.stop();
  });

  async function assertSearchAttributes(connection: Connection): Promise<void> {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const [name, kind] of Object.entries(TEST_SEARCH_ATTRIBUTES)) {
      assert.equal(customAttributes?.[name], INDEXED_VALUE_TYPE[kind], `search attribute ${name}`);
    }
  }

  it('accepts connections, has the search attributes, and keeps state across restart', async () => {
    const workflowId = `harness-${Date.now()}`;
    const certificateId = defineSearchAttributeKey('CertificateId', SearchAttributeType.KEYWORD);

    let connection = await Connection.connect({ address: temporal.address });
    try {
      await assertSearchAttributes(connection);
      // A workflow with no worker: it just sits in the persisted state.
      const client = new Client({ connection, namespace: 'default' });
      await client.workflow.start('harnessNoop', {
        taskQueue: 'harness',
        workflowId,
        typedSearchAttributes: [{ key: certificateId, value: 'cert-harness' }],
      });
    } finally {
      await connection.close();
    }

    const t0 = performance.now();
    await temporal.restart();
    process.stderr.write(`temporal dev server restart took ${Math.round(performance.now() - t0)} ms\n`);

    connection = await Connection.connect({ address: temporal.address });
    try {
      await assertSearchAttributes(connection);
      const client = new Client({ connection, namespace: 'default' });
      const description = await client.workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'RUNNING');
      assert.equal(description.typedSearchAttributes.get(certificateId), 'cert-harness');
      await client.workflow.getHandle(workflowId).terminate('harness done');
      await assert.rejects(client.workflow.getHandle('does-not-exist').describe(), WorkflowNotFoundError);
    } finally {
      await connection.close();
    }
  });
});

describe('smtp catcher', () => {
  const catcher = suiteResource(startSmtpCatcher, (smtp) => smtp.close());

  it('receives a real message sent with nodemailer', async () => {
    const smtp = catcher();
    const transport = nodemailer.createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true });
    const longLine = `Renewal of *.example.test succeeded — expires 2031-01-01. ${'x'.repeat(100)} a=b`;
    try {
      await transport.sendMail({
        from: 'CertFleet <certfleet@example.test>',
        to: ['ops@example.test', 'noc@example.test'],
        subject: 'Zertifikat erneuert: *.example.test ✓',
        text: `Hallo,\n${longLine}\n`,
        html: `<p>${longLine}</p>`,
      });
    } finally {
      transport.close();
    }
    const msg = await smtp.waitFor((m) => m.to.includes('noc@example.test'), 5_000);
    assert.equal(msg.from, 'certfleet@example.test');
    assert.deepEqual([...msg.to].sort(), ['noc@example.test', 'ops@example.test']);
    assert.equal(msg.subject, 'Zertifikat erneuert: *.example.test ✓');
    assert.ok(msg.text.includes(longLine), `text body: ${JSON.stringify(msg.text)}`);
    assert.ok(msg.html?.includes(`<p>${longLine}</p>`));
    assert.equal(smtp.messages.length, 1);
  });
});

after(() => {
  // Every helper stops what it started, also on failure.
  assert.equal(runningProcessCount(), 0, 'leaked child processes');
});

/**
 * A second CA (issue 15 item 6) against two Pebble 2.10.3 instances. The certificate's directory is
 * "Pebble A", with the stack's Pebble ("Pebble") as its fallback. A validation failure at Pebble A
 * (its DNS has no TXT record: the customer's side) does not fall over; with Pebble A stopped
 * (connection refused), the run gives it up at the fallback deadline and issues from the fallback,
 * and says so on the certificate page, on the version and in the email. A CA that accepts connections
 * and never answers (it hangs) falls over the same way.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ConsoleClient } from '../support/console-client';
import {
  addCloudflareProvider,
  addPebbleDirectory,
  requestCertificate,
  setDirectoryPacing,
  waitForRunToEnd,
} from '../support/console-actions';
import { startPebble, type PebbleStack } from '../support/pebble';
import { startStack, type Stack } from '../support/stack';

describe('fallback to a second CA', () => {
  let stack: Stack;
  let pebbleA: PebbleStack;
  let admin: ConsoleClient;
  let fallbackId: string;
  let primaryId: string;
  let providerId: string;

  before(async () => {
    [stack, pebbleA] = await Promise.all([startStack(), startPebble({ authzReusePercent: 0 })]);
    await stack.startWorker();
    admin = await stack.admin();
    fallbackId = await addPebbleDirectory(admin, stack);
    providerId = await addCloudflareProvider(admin, stack, 'Fallback Cloudflare');
    await admin.get('/settings');
    const saved = await admin.post('/settings/acme-directories', {
      name: 'Pebble A',
      url: pebbleA.directoryUrl,
      caBundlePem: pebbleA.caBundlePem,
    });
    assert.equal(saved.status, 303, saved.text);
    const rows = await stack.db.db.query<{ id: string }>(
      "SELECT id::text AS id FROM acme_directories WHERE name = 'Pebble A'",
    );
    primaryId = rows[0]?.id ?? '';
    assert.ok(primaryId);
    // Pebble A falls over to Pebble after 3 s of CA-side failures.
    await setDirectoryPacing(admin, primaryId, { fallbackDirectoryIds: fallbackId, fallbackAfterSeconds: '3' });
    const settings = await admin.get('/settings');
    assert.match(settings.text, new RegExp(`#${primaryId} Pebble A <span class="muted">→ Pebble</span>`));
  });
  after(async () => {
    await Promise.all([stack?.stop(), pebbleA?.stop()]);
  });

  const ordersOf = async (certificateId: string) =>
    stack.db.db.query<{ directory_id: string }>(
      'SELECT directory_id::text AS directory_id FROM acme_orders WHERE certificate_id = $1 ORDER BY id',
      [certificateId],
    );

  /** Requests `commonName` at the directory `acmeDirectoryId` and waits for its first run: the id and last fragment. */
  const runAt = async (commonName: string, acmeDirectoryId: string): Promise<{ id: string; fragment: string }> => {
    const id = await requestCertificate(admin, { commonName, dnsProviderId: providerId, acmeDirectoryId });
    return { id, fragment: await waitForRunToEnd(admin, id) };
  };

  it('a failed validation at the first CA does not fall over', async () => {
    const { id, fragment } = await runAt('novalidate.example.test', primaryId);
    assert.match(fragment, /run-FAILED/);
    assert.match(fragment, /could not validate novalidate\.example\.test/);
    assert.doesNotMatch(fragment, /issuing from/);
    assert.deepEqual(
      (await ordersOf(id)).map((o) => o.directory_id),
      [primaryId],
      'no order at the fallback CA',
    );
  });

  it('with the first CA stopped, issues from the fallback and says so (page, version, email)', async () => {
    await pebbleA.stop();
    stack.smtp.clear();
    const { id, fragment } = await runAt('fallback.example.test', primaryId);
    assert.match(fragment, /run-COMPLETED/, fragment);
    assert.match(
      fragment,
      /Pebble A failed for CA-side reasons \(no success within the fallback deadline of 3 s; last: [^)]+\): issuing from Pebble\./,
    );
    assert.match(fragment, /ACME directory: Pebble</);

    assert.deepEqual(
      (await ordersOf(id)).map((o) => o.directory_id),
      [fallbackId],
      'the only order went to the fallback (Pebble A never answered)',
    );
    const page = await admin.get(`/certificates/${id}`);
    assert.match(page.text, /<td class="issued-by">Pebble<\/td>/);

    const mail = await stack.smtp.waitFor((m) => m.subject.includes('Issued fallback.example.test'), 30_000);
    assert.match(mail.text, /issued by the fallback CA Pebble:/);
    assert.match(
      mail.text,
      /Pebble A failed for CA-side reasons \(no success within the fallback deadline of 3 s; last: .+\); the run went on with Pebble\./,
    );
  });

  it('a CA that accepts and never answers falls over at the deadline too', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      await admin.get('/settings');
      const added = await admin.post('/settings/acme-directories', {
        name: 'Silent CA',
        url: `https://127.0.0.1:${port}/dir`,
        caBundlePem: '',
      });
      assert.equal(added.status, 303, added.text);
      const silentId = (
        await stack.db.db.query<{ id: string }>("SELECT id::text AS id FROM acme_directories WHERE name = 'Silent CA'")
      )[0]?.id;
      assert.ok(silentId);
      await admin.get('/settings');
      const saved = await admin.post(`/settings/acme-directories/${silentId}/pacing`, {
        ordersPerAccount: '300',
        accountWindowSeconds: '10800',
        certificatesPerDomain: '50',
        duplicatesPerIdentifiers: '5',
        domainWindowSeconds: '604800',
        fallbackDirectoryIds: fallbackId,
        fallbackAfterSeconds: '3',
      });
      assert.equal(saved.status, 303, saved.text);
      const { id, fragment } = await runAt('hang.example.test', silentId);
      assert.match(fragment, /run-COMPLETED/, fragment);
      assert.match(fragment, /Silent CA failed for CA-side reasons \(no success within the fallback deadline of 3 s/);
      assert.ok(sockets.size >= 1, 'the run did reach the silent CA');
      assert.deepEqual(
        (await ordersOf(id)).map((o) => o.directory_id),
        [fallbackId],
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

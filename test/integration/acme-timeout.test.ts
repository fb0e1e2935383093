/**
 * A CA that accepts connections and never answers (Pebble 2.4 deadlocked like this under a
 * 1,000-certificate run) must not hold the worker's ACME calls: a request is given up after the
 * request timeout, classified as retryable, and its socket is closed.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, it } from 'node:test';
import * as acme from 'acme-client';
import {
  lastRequestUnanswered,
  setAcmeRequestTimeout,
  trustDirectoryCa,
  withAcmeProblems,
} from '../../activities/acme/problems';
import { ClassifiedError } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';

let silent: net.Server;
const sockets = new Set<net.Socket>();
let closedSockets = 0;

before(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      closedSockets += 1;
      sockets.delete(socket);
    });
    // Read the request, never answer.
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

/** An acme-client for a directory on the silent server, with this request timeout. */
async function clientOfSilentCa(pathname: string, timeoutMs: number): Promise<acme.Client> {
  const { port } = silent.address() as net.AddressInfo;
  const directoryUrl = `http://127.0.0.1:${port}${pathname}`;
  setAcmeRequestTimeout(timeoutMs);
  trustDirectoryCa(directoryUrl, null);
  return new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
}

it('a CA that never answers is given up after the request timeout, as a retryable ACME_UNAVAILABLE', async () => {
  const client = await clientOfSilentCa('/dir', 700);
  const started = Date.now();
  await assert.rejects(
    withAcmeProblems('create the account', () => client.createAccount({ termsOfServiceAgreed: true })),
    (error: unknown) => {
      assert.ok(error instanceof ClassifiedError);
      assert.equal(error.type, FailureType.acmeUnavailable);
      assert.ok(!NON_RETRYABLE_FAILURES.includes(error.type), 'the activity retries it');
      // acme-client alone would say "Cannot read properties of undefined (reading 'config')".
      assert.equal(
        error.message,
        'acme: create the account: cannot reach the CA: timed out (ECONNABORTED: timeout of 700ms exceeded)',
      );
      return true;
    },
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 600 && waited < 5_000, `gave up after ${waited} ms`);
  // The request's socket is not kept for reuse: the CA sees it closed.
  const deadline = Date.now() + 2_000;
  while (closedSockets === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(closedSockets >= 1, 'the socket of the request was closed');
});

it("a status poll the CA never answers is its silence, not its verdict (validateAcmeChallenge's rethrow)", async () => {
  const client = await clientOfSilentCa('/poll', 500);
  const seen = await withAcmeProblems('validate poll.example.test', async () => {
    try {
      await client.createAccount({ termsOfServiceAgreed: true });
      return { unanswered: false, typeError: false };
    } catch (error) {
      // What acme-client throws for a request without an answer, and what the activity checks before
      // calling it a failed validation.
      return { unanswered: lastRequestUnanswered(), typeError: error instanceof TypeError };
    }
  });
  assert.deepEqual(seen, { unanswered: true, typeError: true });
  assert.equal(lastRequestUnanswered(), false, 'outside ACME work nothing is recorded');
});

/**
 * waitForTxtPropagation against a real pebble-challtestsrv (Debian 2.4.0) on free loopback ports.
 */
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { nameServersFor, waitForTxtPropagation, type NameServer } from '../../activities/dns-propagation';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { freePort, freeUdpAndTcpPort } from '../support/free-port';
import { spawnManaged, type ManagedProcess } from '../support/process';
import { challtestsrvArgs, PEBBLE_CHALLTESTSRV, pebbleTool } from '../support/pebble';
import { rejection as rejectionOf } from '../support/assertions';

let cts: ManagedProcess | undefined;
let dnsAddress = '';
let mgmtUrl = '';
let deadAddress = '';

async function management(endpoint: 'set-txt' | 'clear-txt', body: Record<string, string>): Promise<void> {
  const res = await fetch(`${mgmtUrl}/${endpoint}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  assert.equal(res.status, 200, `challtestsrv ${endpoint}: ${await res.text()}`);
}
const setTxt = (name: string, value: string): Promise<void> =>
  management('set-txt', { host: `${name.toLowerCase()}.`, value });
const clearTxt = (name: string): Promise<void> => management('clear-txt', { host: `${name.toLowerCase()}.` });

/**
 * Runs `work` while `value` is published at `name` after about 300 ms, then clears the record;
 * `published()` tells `work` whether it has been published yet.
 */
async function withValuePublishedLater(
  name: string,
  value: string,
  work: (published: () => boolean) => Promise<void>,
): Promise<void> {
  let published = false;
  const timer = setTimeout(() => {
    published = true;
    void setTxt(name, value);
  }, 300);
  try {
    await work(() => published);
  } finally {
    clearTimeout(timer);
    await clearTxt(name);
  }
}

async function dnsAnswers(address: string): Promise<boolean> {
  const resolver = new dns.Resolver({ timeout: 250, tries: 1 });
  resolver.setServers([address]);
  try {
    return (await resolver.resolve4('readiness.certfleet.test')).length > 0;
  } catch {
    return false;
  } finally {
    resolver.cancel();
  }
}

async function startChalltestsrv(): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dnsPort = await freeUdpAndTcpPort();
    const mgmtPort = await freePort();
    const address = `127.0.0.1:${dnsPort}`;
    const url = `http://127.0.0.1:${mgmtPort}`;
    try {
      cts = await spawnManaged(await pebbleTool(PEBBLE_CHALLTESTSRV), challtestsrvArgs(address, mgmtPort), {
        name: 'pebble-challtestsrv',
        timeoutMs: 15_000,
        readyWhen: async () => {
          await fetch(`${url}/`, { signal: AbortSignal.timeout(500) });
          return dnsAnswers(address);
        },
      });
      dnsAddress = address;
      mgmtUrl = url;
      return;
    } catch (error) {
      lastError = error; // a port taken between probe and bind: try fresh ports
    }
  }
  throw lastError;
}

before(async () => {
  await startChalltestsrv();
  deadAddress = `127.0.0.1:${await freeUdpAndTcpPort()}`; // nothing listens here
});

after(async () => {
  await cts?.stop();
});

let counter = 0;
/** A record name of its own for each test. */
const recordName = (): string => `_acme-challenge.t${++counter}-${process.pid}.example.test`;
/** Runs `work` with a fresh record name that holds the TXT `value`, and always clears the record. */
async function withTxtRecord(value: string, work: (name: string) => Promise<void>): Promise<void> {
  const name = recordName();
  await setTxt(name, value);
  try {
    await work(name);
  } finally {
    await clearTxt(name);
  }
}
const server = (address: string): NameServer => ({ name: address, address });

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

describe('waitForTxtPropagation (real pebble-challtestsrv)', () => {
  it('a value already present resolves in the first round', async () => {
    const name = recordName();
    await setTxt(name, 'token-1');
    const polls: string[][] = [];
    const result = await waitForTxtPropagation(name, ['token-1'], [server(dnsAddress)], {
      intervalMs: 100,
      timeoutMs: 5_000,
      onPoll: (p) => polls.push(p),
    });
    assert.equal(result.rounds, 1);
    assert.deepEqual(polls, []);
    await clearTxt(name);
  });

  it('a value set later (after ~300 ms) is waited for', async () => {
    const name = recordName();
    await withValuePublishedLater(name, 'late-value', async (published) => {
      const polls: string[][] = [];
      const result = await waitForTxtPropagation(name, ['late-value'], [server(dnsAddress)], {
        intervalMs: 100,
        timeoutMs: 10_000,
        onPoll: (p) => polls.push(p),
      });
      assert.ok(published(), 'resolved before the value was published');
      assert.ok(result.rounds >= 2, `rounds ${result.rounds}`);
      assert.ok(polls.length >= 1);
      assert.deepEqual(polls[0], [dnsAddress]);
    });
  });

  it('a value never set times out with DNS_PROPAGATION_TIMEOUT naming the server', async () => {
    const name = recordName();
    const error = await rejection(
      waitForTxtPropagation(name, ['never'], [server(dnsAddress)], { intervalMs: 100, timeoutMs: 500 }),
    );
    assert.equal(error.type, FailureType.propagationTimeout);
    assert.ok(error.message.startsWith('dns: '), error.message);
    assert.ok(error.message.includes(dnsAddress), error.message);
    assert.ok(error.message.includes(name), error.message);
    assert.match(error.message, /at 1 of 1 nameservers/);
  });

  it('another value only (not ours) is not enough', async () => {
    await withTxtRecord('someone-else', async (name) => {
      const error = await rejection(
        waitForTxtPropagation(name, ['ours'], [server(dnsAddress)], { intervalMs: 100, timeoutMs: 500 }),
      );
      assert.equal(error.type, FailureType.propagationTimeout);
      assert.match(error.message, /other values \(1\)/);
    });
  });

  it('with one dead server, the timeout names only the dead one', async () => {
    await withTxtRecord('v', async (name) => {
      const error = await rejection(
        waitForTxtPropagation(name, ['v'], [server(dnsAddress), server(deadAddress)], {
          intervalMs: 100,
          timeoutMs: 500,
        }),
      );
      assert.equal(error.type, FailureType.propagationTimeout);
      assert.ok(error.message.includes(deadAddress), error.message);
      assert.ok(!error.message.includes(dnsAddress), `the live server should not be named: ${error.message}`);
      assert.match(error.message, /at 1 of 2 nameservers/);
    });
  });

  it('a server given by host name is named with its address', async () => {
    const name = recordName();
    const error = await rejection(
      waitForTxtPropagation(name, ['v'], [{ name: 'ns1.example.test', address: deadAddress }], {
        intervalMs: 100,
        timeoutMs: 300,
      }),
    );
    assert.ok(error.message.includes(`ns1.example.test (${deadAddress})`), error.message);
  });

  it('several values: waits until all of them are present', async () => {
    const name = recordName();
    await setTxt(name, 'value-a');
    await withValuePublishedLater(name, 'value-b', async (secondPublished) => {
      const result = await waitForTxtPropagation(name, ['value-a', 'value-b'], [server(dnsAddress)], {
        intervalMs: 100,
        timeoutMs: 10_000,
      });
      assert.ok(secondPublished(), 'resolved while only the first value was visible');
      assert.ok(result.rounds >= 2);
    });
  });

  it('two live servers (the same one twice under different names) both count', async () => {
    await withTxtRecord('v2', async (name) => {
      const result = await waitForTxtPropagation(
        name,
        ['v2'],
        [server(dnsAddress), { name: 'alias', address: dnsAddress }],
        { intervalMs: 100, timeoutMs: 5_000 },
      );
      assert.equal(result.rounds, 1);
    });
  });

  it('an abort signal stops the wait', async () => {
    const name = recordName();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    try {
      await assert.rejects(
        waitForTxtPropagation(name, ['never'], [server(dnsAddress)], {
          intervalMs: 100,
          timeoutMs: 60_000,
          signal: controller.signal,
        }),
        (e: unknown) => e instanceof Error && e.name === 'AbortError',
      );
    } finally {
      clearTimeout(timer);
    }
  });
});

describe('nameServersFor', () => {
  it('uses configured resolvers as given, without any lookup', async () => {
    assert.deepEqual(await nameServersFor('example.test', ['127.0.0.1:5353', '10.0.0.1']), [
      { name: '127.0.0.1:5353', address: '127.0.0.1:5353' },
      { name: '10.0.0.1', address: '10.0.0.1' },
    ]);
  });
});

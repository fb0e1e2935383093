/**
 * The production topology's Temporal server in tests (test/support/temporal-server.ts) chooses nine
 * ports, all different, and starts again on a fresh set when another process bound one of them between
 * choosing and binding (CI on 2026-12-08 failed the restore test with the server's own message, below).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVER_PORT_NAMES } from '../../scripts/temporal/server-config';
import { lostBindRace, retryOnLostBindRace, serverPorts } from '../support/temporal-server';

const LOST_RACE = new Error(
  'temporal-server (/root/.cache/certfleet/bin/temporal-server --root /tmp/x start) exited before ready (code 1, signal null)\n' +
    '--- last output ---\n' +
    '{"level":"fatal","msg":"Failed to start ringpop listener","error":"listen tcp 127.0.0.1:16458: bind: address already in use"}',
);
const OTHER_EXIT = new Error(
  'temporal-server (/root/.cache/certfleet/bin/temporal-server start) exited before ready (code 1, signal null)\n' +
    '--- last output ---\n{"level":"fatal","msg":"sql schema version compatibility check failed"}',
);

describe('Temporal server ports in tests', () => {
  it('chooses a different port for each of the server listeners, all below 32768 (a smallint column)', async () => {
    for (let round = 0; round < 20; round += 1) {
      const ports = Object.values(await serverPorts());
      assert.equal(ports.length, SERVER_PORT_NAMES.length);
      assert.equal(new Set(ports).size, ports.length);
      for (const port of ports) assert.ok(port >= 10_000 && port < 32_768, `port ${port}`);
    }
  });

  it('recognises a server that exited on a port taken meanwhile, and nothing else', () => {
    assert.equal(lostBindRace(LOST_RACE), true);
    assert.equal(lostBindRace(OTHER_EXIT), false);
    assert.equal(lostBindRace(new Error('temporal-server not ready after 180000 ms: address already in use')), false);
    assert.equal(lostBindRace('address already in use'), false);
  });

  it('starts again on fresh ports after a lost bind race, and gives up after three starts', async () => {
    const calls: string[] = [];
    let failures = 1;
    await retryOnLostBindRace(
      async () => {
        calls.push('start');
        if (failures-- > 0) throw LOST_RACE;
      },
      async () => {
        calls.push('ports');
      },
    );
    assert.deepEqual(calls, ['start', 'ports', 'start']);

    calls.length = 0;
    await assert.rejects(
      retryOnLostBindRace(
        async () => {
          calls.push('start');
          throw LOST_RACE;
        },
        async () => {
          calls.push('ports');
        },
      ),
      /address already in use/,
    );
    assert.deepEqual(calls, ['start', 'ports', 'start', 'ports', 'start']);
  });

  it('does not start again when the server failed for another reason', async () => {
    let starts = 0;
    await assert.rejects(
      retryOnLostBindRace(
        async () => {
          starts += 1;
          throw OTHER_EXIT;
        },
        async () => undefined,
      ),
      /schema version/,
    );
    assert.equal(starts, 1);
  });
});

/**
 * The peers of the files that test the alerting and the dependency guard against the real PostgreSQL
 * and SMTP: a fresh database and an SMTP catcher for the file, both closed after it.
 */
import { after, before } from 'node:test';
import { createTestDatabase, type TestDatabase } from './db';
import { startSmtpCatcher, type SmtpCatcher } from './smtp';

export interface DatabaseAndSmtp {
  t: TestDatabase;
  smtp: SmtpCatcher;
}

/** Registers the file's hooks; `started` receives both once they run. */
export function useDatabaseAndSmtp(started: (peers: DatabaseAndSmtp) => void): void {
  let peers: Partial<DatabaseAndSmtp> = {};
  before(async () => {
    const [t, smtp] = await Promise.all([createTestDatabase(), startSmtpCatcher()]);
    peers = { t, smtp };
    started({ t, smtp });
  });
  after(async () => {
    await Promise.all([peers.t?.drop(), peers.smtp?.close()]);
  });
}

/**
 * The console app on a seeded fleet (versions sealed with a placeholder key), with a signed-in admin and
 * an API token: what the console files that need no worker start from.
 */
import { SecretPurpose } from '../../activities/crypto/secret-box';
import type { Role } from '../../activities/db/repositories/users';
import { startConsoleApp, type ConsoleApp } from './console-app';
import type { ConsoleClient } from './console-client';
import { seedFleet, type FleetSize, type SeededFleet } from './seed';

export interface SeededConsole {
  c: ConsoleApp;
  fleet: SeededFleet;
  admin: ConsoleClient;
  token: string;
}

export async function startSeededConsole(
  size: FleetSize,
  users: { admin?: string; tokenRole: Role; token?: string },
): Promise<SeededConsole> {
  const c = await startConsoleApp();
  try {
    const fleet = await seedFleet(c.db.db, size, c.box.seal('placeholder', SecretPurpose.versionKey));
    const admin = await c.signedIn('admin', users.admin);
    return { c, fleet, admin, token: await c.apiToken(users.tokenRole, users.token) };
  } catch (error) {
    await c.stop();
    throw error;
  }
}

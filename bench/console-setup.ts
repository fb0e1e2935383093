/** What every end-to-end benchmark does first: the worker, a Temporal client, an admin, Pebble and the Cloudflare fake. */
import { Client, type Connection } from '@temporalio/client';
import { addCloudflareProvider, addPebbleDirectory } from '../test/support/console-actions';
import type { ConsoleClient } from '../test/support/console-client';
import type { Stack } from '../test/support/stack';

export interface BenchConsole {
  client: Client;
  admin: ConsoleClient;
  directoryId: string;
  providerId: string;
}

export async function benchConsole(stack: Stack, connection: Connection): Promise<BenchConsole> {
  await stack.startWorker();
  const client = new Client({ connection });
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  const providerId = await addCloudflareProvider(admin, stack, 'Bench');
  return { client, admin, directoryId, providerId };
}

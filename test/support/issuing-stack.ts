/**
 * The real stack with one worker, a Temporal client, a signed-in admin, Pebble as an ACME directory and
 * a Cloudflare DNS provider: what the tests that issue certificates through the console start from.
 */
import { Client, Connection } from '@temporalio/client';
import type { ConsoleClient } from './console-client';
import { addCloudflareProvider, addPebbleDirectory, requestCertificate, waitForRunToEnd } from './console-actions';
import { startStack, type Stack, type StackOptions } from './stack';

export interface IssuingStack {
  stack: Stack;
  connection: Connection;
  client: Client;
  admin: ConsoleClient;
  directoryId: string;
  providerId: string;
  /** Requests a certificate for `commonName` through the console and waits for its first run to end. */
  issue(commonName: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startIssuingStack(providerName: string, options: StackOptions = {}): Promise<IssuingStack> {
  const stack = await startStack(options);
  try {
    const connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection });
    await stack.startWorker();
    const admin = await stack.admin();
    const directoryId = await addPebbleDirectory(admin, stack);
    const providerId = await addCloudflareProvider(admin, stack, providerName);
    return {
      stack,
      connection,
      client,
      admin,
      directoryId,
      providerId,
      async issue(commonName) {
        const id = await requestCertificate(admin, {
          commonName,
          dnsProviderId: providerId,
          acmeDirectoryId: directoryId,
        });
        await waitForRunToEnd(admin, id);
        return id;
      },
      async stop() {
        await connection.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * The set-up most integration files share: the stack with a Temporal client on it, and a signed-in admin
 * who has registered Pebble as ACME directory and the fake Cloudflare as DNS provider, ready to issue.
 */
import { Client, Connection } from '@temporalio/client';
import { insertUser, type Role } from '../../activities/db/repositories/users';
import { hashPassword } from '../../web/passwords';
import { addCloudflareProvider, addPebbleDirectory, requestCertificate, waitForRunToEnd } from './console-actions';
import { ConsoleClient } from './console-client';
import { startStack, type AnyStack, type Stack, type StackOptions } from './stack';

/**
 * Starts the stack and connects a Temporal client to its server. The returned stack's `stop()` closes the
 * client's connection first; the stack is stopped again if connecting fails.
 */
export function startStackWithClient(options?: StackOptions): Promise<{ stack: Stack; client: Client }>;
/** The same on another runner of the stack (e.g. startProductionStack). */
export function startStackWithClient<S extends AnyStack>(
  options: StackOptions,
  start: (options: StackOptions) => Promise<S>,
): Promise<{ stack: S; client: Client }>;
export async function startStackWithClient(
  options: StackOptions = {},
  start: (options: StackOptions) => Promise<AnyStack> = startStack,
): Promise<{ stack: AnyStack; client: Client }> {
  const stack = await start(options);
  try {
    const connection = await Connection.connect({ address: stack.temporal.address });
    const stop = async (): Promise<void> => {
      await connection.close();
      await stack.stop();
    };
    return { stack: { ...stack, stop }, client: new Client({ connection }) };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * The deploy timings integration files shorten: the window a failed deployment keeps retrying in, the
 * commit poll, and the device retries (first interval 100 ms, `attempts` attempts).
 */
export function fastDeployEnv(retryWindowMs: number, attempts: number): Record<string, string> {
  return {
    DEPLOY_RETRY_WINDOW_MS: String(retryWindowMs),
    DEPLOY_COMMIT_POLL_MS: '100',
    DEPLOY_DEVICE_RETRY_INITIAL_MS: '100',
    DEPLOY_DEVICE_RETRY_ATTEMPTS: String(attempts),
  };
}

/** Adds a console user straight to the database and signs it in on the stack's console. */
export async function signInNewUser(
  stack: AnyStack,
  user: { username: string; role: Role; password: string },
): Promise<ConsoleClient> {
  await insertUser(stack.db.db, {
    username: user.username,
    role: user.role,
    passwordHash: await hashPassword(user.password),
  });
  const client = new ConsoleClient(stack.web.url);
  await client.login(user.username, user.password);
  return client;
}

/** A signed-in admin with Pebble and a Cloudflare provider registered through the console. */
export interface ConsoleIssuer {
  admin: ConsoleClient;
  directoryId: string;
  providerId: string;
  /** Requests `commonName` through the certificate form with this directory and provider (or `dnsProviderId`). */
  request(commonName: string, dnsProviderId?: string): Promise<string>;
  /** Requests `commonName` as `request` does and waits until its first run ends: its id and last progress fragment. */
  issue(commonName: string, dnsProviderId?: string): Promise<{ id: string; fragment: string }>;
}

/** Signs the admin in and registers Pebble and a Cloudflare provider named `providerName`. */
export async function signInWithIssuer(stack: AnyStack, providerName: string): Promise<ConsoleIssuer> {
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  const providerId = await addCloudflareProvider(admin, stack, providerName);
  const request = (commonName: string, dnsProviderId = providerId): Promise<string> =>
    requestCertificate(admin, { commonName, dnsProviderId, acmeDirectoryId: directoryId });
  const issue = async (commonName: string, dnsProviderId?: string): Promise<{ id: string; fragment: string }> => {
    const id = await request(commonName, dnsProviderId);
    return { id, fragment: await waitForRunToEnd(admin, id) };
  };
  return { admin, directoryId, providerId, request, issue };
}

/** The stack with its worker started, a Temporal client, and a signed-in issuer: what the ARI tests start from. */
export interface IssuingStack extends ConsoleIssuer {
  stack: Stack;
  client: Client;
  stop(): Promise<void>;
}

export async function startIssuingStack(providerName: string, options: StackOptions = {}): Promise<IssuingStack> {
  const { stack, client } = await startStackWithClient(options);
  try {
    await stack.startWorker();
    const issuer = await signInWithIssuer(stack, providerName);
    return { ...issuer, stack, client, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

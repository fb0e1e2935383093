import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
}

export interface ConnectOptions {
  /**
   * Give up on an unreachable server after a few quick retries (about a second) instead of the SDK's
   * ten growing ones (tens of seconds): for the web console, where a person waits for the answer.
   */
  quickRetries?: boolean;
}

export async function connectTemporal(
  settings: TemporalSettings,
  options: ConnectOptions = {},
): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({
    address: settings.address,
    ...(options.quickRetries
      ? {
          interceptors: [
            makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 4, maxIntervalMs: () => 500 })),
          ],
        }
      : {}),
  });
  return { connection, client: new Client({ connection, namespace: settings.namespace }) };
}

import { Client, Connection } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
}

export async function connectTemporal(settings: TemporalSettings): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: settings.address });
  return { connection, client: new Client({ connection, namespace: settings.namespace }) };
}

import { SearchAttributes } from '../../temporal/contract';

export interface DownloadedDevServer {
  address: string;
  stop: () => Promise<void>;
}

/**
 * For machines with internet but neither the Temporal CLI nor Go: the SDK downloads the CLI into its
 * own cache and runs the same dev server (persistent SQLite file, CertFleet's search attributes), headless:
 * its embedded UI cannot be made read-only (scripts/temporal/ui-server.ts).
 * Not used when the CLI can be found or built, and it cannot work offline.
 */
export async function startDownloadedDevServer(opts: {
  port: number;
  dbFilename: string;
}): Promise<DownloadedDevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: '127.0.0.1',
      port: opts.port,
      ui: false,
      dbFilename: opts.dbFilename,
      searchAttributes: Object.values(SearchAttributes),
    },
  });
  return { address: env.address, stop: () => env.teardown() };
}

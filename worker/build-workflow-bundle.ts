import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger as TemporalLogger } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';

/** workflows/index.ts, or index.js when this runs compiled (dist/, scripts/build.ts): the bundler reads either. */
export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/** Warnings and errors on stderr, nothing else: for the command line and for tests. */
const STDERR_ONLY: TemporalLogger = {
  log: (level, message) => {
    if (level === 'WARN' || level === 'ERROR') console.error(message);
  },
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => console.error(message),
  error: (message) => console.error(message),
};

/**
 * The bundler reports webpack's statistics (every module, sizes) and "Workflow bundle created" at
 * info: noise at start-up. They go to debug; a failed build's errors and warnings stay as they are.
 */
function bundlerLogger(logger: TemporalLogger): TemporalLogger {
  return {
    log: (level, message, meta) => void logger.log(level === 'INFO' ? 'DEBUG' : level, message, meta),
    trace: (message, meta) => void logger.trace(message, meta),
    debug: (message, meta) => void logger.debug(message, meta),
    info: (message, meta) => void logger.debug(message, meta),
    warn: (message, meta) => void logger.warn(message, meta),
    error: (message, meta) => void logger.error(message, meta),
  };
}

/** Bundles the workflows with webpack (seconds); its report is logged at debug. */
export async function bundleWorkflows(logger: TemporalLogger = STDERR_ONLY): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: bundlerLogger(logger) });
  return code;
}

/** Pre-builds the workflow bundle (production images and tests), so workers start without webpack. */
export async function buildWorkflowBundle(outFile: string): Promise<string> {
  const code = await bundleWorkflows();
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return outFile;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'data/workflow-bundle.js');
  buildWorkflowBundle(out).then(
    (file) => console.log(`workflow bundle written to ${file}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from 'pino';

/** Routes the Temporal SDK's log entries (worker, workflows, activities) into the process's pino logger. */
export function temporalLoggerFor(log: Logger): TemporalLogger {
  const emit = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const fields = meta ?? {};
    switch (level) {
      case 'TRACE':
        log.trace(fields, message);
        break;
      case 'DEBUG':
        log.debug(fields, message);
        break;
      case 'INFO':
        log.info(fields, message);
        break;
      case 'WARN':
        log.warn(fields, message);
        break;
      case 'ERROR':
        log.error(fields, message);
        break;
    }
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}

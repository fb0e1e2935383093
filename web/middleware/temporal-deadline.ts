import type { Client } from '@temporalio/client';
import type { NextFunction, Request, Response } from 'express';

/**
 * Every Temporal call made while serving one request shares a deadline: with the server down, the
 * client would otherwise retry for minutes. A request past it gets DEADLINE_EXCEEDED, shown as a 503.
 */
export function temporalDeadline(client: Client, ms: number) {
  return (_req: Request, _res: Response, next: NextFunction): void => {
    void client.withDeadline(Date.now() + ms, async () => next());
  };
}

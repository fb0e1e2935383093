import type { NextFunction, Request, Response } from 'express';

/** `Server-Timing: app;dur=<ms>` on every response: what the server spent, without the network (bench/console.ts reads it). */
export function serverTiming(_req: Request, res: Response, next: NextFunction): void {
  const start = process.hrtime.bigint();
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
  res.writeHead = ((...args: unknown[]) => {
    if (!res.headersSent)
      res.setHeader('Server-Timing', `app;dur=${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(2)}`);
    return writeHead(...args);
  }) as Response['writeHead'];
  next();
}

import type { ErrorRequestHandler, RequestHandler } from 'express';

/** A failure with the HTTP status it should become. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Unknown API paths answer in JSON like every other API error, not with express's HTML page. */
export const apiNotFound: RequestHandler = (req, _res, next) => next(new HttpError(404, `no such endpoint: ${req.method} ${req.path}`));

/**
 * The one place where errors become HTTP statuses. Client errors carry their message; anything unexpected is logged
 * and answered with a generic 500, so internals (paths, SQL) never reach the page.
 */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string };
    let status = err instanceof HttpError ? err.status : e.status ?? e.statusCode ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) status = 500;
    let message: string;
    if (err instanceof HttpError || (status < 500 && e.expose !== false)) {
      message = e.type === 'entity.too.large' ? 'request body too large' : String(e.message ?? 'bad request');
    } else {
      log(`segmap serve: ${(err as Error)?.stack ?? String(err)}`);
      message = 'internal error (details are in the server log)';
    }
    res.status(status).set('Cache-Control', 'no-store').json({ error: { status, message } });
  };
}

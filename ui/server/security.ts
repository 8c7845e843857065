import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

export const MIN_TOKEN_LENGTH = 16;
const COOKIE = 'segmap_session';

/** 127.0.0.0/8, ::1 and `localhost`: the only binds that need no token. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1].startsWith('127.');
}

/** Refuse to expose the map beyond this machine without a token; say exactly what to do instead. */
export function checkBind(host: string, token: string | undefined): void {
  if (isLoopback(host)) {
    if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new Error(`--token must be at least ${MIN_TOKEN_LENGTH} characters`);
    return;
  }
  if (!token) {
    throw new Error(
      `refusing to listen on ${host} without a token: anyone who can reach it would see the whole traffic map. ` +
      `Pass --token (at least ${MIN_TOKEN_LENGTH} random characters, e.g. \`--token $(openssl rand -hex 24)\`) or bind 127.0.0.1.`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`--token must be at least ${MIN_TOKEN_LENGTH} characters`);
}

const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** Headers on every response: the page may run only its own bundle, and may not be framed or sniffed. */
export const securityHeaders: RequestHandler = (req, res, next) => {
  res.set({
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  });
  if (req.path.startsWith('/api/')) res.set('Cache-Control', 'no-store');
  next();
};

/**
 * On a loopback bind, only loopback Host headers: a page on another site that DNS-rebinds its name to 127.0.0.1
 * would otherwise read the API with the user's browser.
 */
export function loopbackHostGuard(): RequestHandler {
  return (req, _res, next) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopback(host)) return next(new HttpError(421, `this server answers only to 127.0.0.1 / localhost, not "${host.slice(0, 100)}"`));
    next();
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie holds a value derived from the token, so the token itself never sits in the browser's cookie jar. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('segmap-session-v1').digest('base64url');
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Bearer header, or the session cookie that a one-time `?token=` link sets. The link redirects to the same URL
 * without the token, so it does not stay in the address bar or history.
 */
export function tokenAuth(token: string): RequestHandler {
  const session = sessionValue(token);
  return (req, res, next) => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return next();
    const c = cookie(req.headers.cookie, COOKIE);
    if (c !== undefined && sameSecret(c, session)) return next();
    const q = req.query.token;
    if (req.method === 'GET' && typeof q === 'string' && sameSecret(q, token)) {
      res.cookie(COOKIE, session, { httpOnly: true, sameSite: 'strict', path: '/' });
      const url = new URL(req.originalUrl, 'http://x');
      url.searchParams.delete('token');
      return res.redirect(303, url.pathname + url.search);
    }
    res.set('WWW-Authenticate', 'Bearer realm="segmap"');
    next(new HttpError(401, 'a token is required: open the link `segmap serve` printed (…?token=…) or send "Authorization: Bearer TOKEN"'));
  };
}

/**
 * The request guards of `serve`: the request target must be a path on this server (no absolute form), the Host
 * header must name this machine (hosts.ts), and the session token must come with the request — in the
 * `x-mixup-token` header for the API (a cookie alone is not enough there, so no other site can make the browser
 * call an operation); for the page, assets, media and the socket also as `?token=` or the page's cookie. A missing
 * token gets 401, a wrong one 403.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './answers';

export const TOKEN_HEADER = 'x-mixup-token';

/** The largest request body or socket message taken. */
export const MAX_BODY = 16 * 1024 * 1024;

/** 'ok', or why to refuse: 401 no token, 403 wrong token, 'host' a Host that does not name this machine (403). */
export type Verdict = 'ok' | 401 | 403 | 'host';

/** Where a request may carry the token: only the header (the API), or also the query and the cookie. */
export type TokenPlace = 'header' | 'query' | 'page';

export function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** decodeURIComponent, or `fallback` for bad percent-encoding (which throws URIError). */
export function decodeOr<T>(text: string, fallback: T): string | T {
  try {
    return decodeURIComponent(text);
  } catch {
    return fallback;
  }
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i === -1 || part.slice(0, i).trim() !== name) continue;
    // A value with bad percent-encoding is kept as it is: it cannot be the token, so it is refused as wrong.
    const value = part.slice(i + 1).trim();
    return decodeOr(value, value);
  }
  return undefined;
}

/**
 * The request target as a URL, or null when it is not a path on this server. Only the origin form (`/path`) is
 * taken: an absolute-form target (`http://other.host/api/...`) names a host the Host check never sees, and this
 * server is no proxy. An origin-form target is appended to this server's origin rather than resolved against it:
 * `//x` stays a path, not a host.
 */
export function requestUrl(target: string | undefined): URL | null {
  const raw = target ?? '/';
  if (!raw.startsWith('/')) return null;
  try {
    return new URL(`http://localhost${raw}`);
  } catch {
    return null;
  }
}

export interface AccessOptions {
  hosts: { accepts(hostHeader: string | undefined): boolean };
  token: string;
  /** The page's cookie (`mixup_token_<port>`: the port is known once listening). */
  cookieName(): string;
}

/** The Host and token check of one request. */
export function authorizer(o: AccessOptions): (req: IncomingMessage, url: URL, where: TokenPlace) => Verdict {
  return (req, url, where) => {
    if (!o.hosts.accepts(req.headers.host)) return 'host';
    const header = req.headers[TOKEN_HEADER];
    const candidates: Array<string | undefined> =
      where === 'header'
        ? [typeof header === 'string' ? header : undefined]
        : [url.searchParams.get('token') ?? undefined, cookieValue(req, o.cookieName()), typeof header === 'string' ? header : undefined];
    const given = candidates.filter((c): c is string => Boolean(c));
    if (given.length === 0) return 401;
    return given.some((g) => sameToken(g, o.token)) ? 'ok' : 403;
  };
}

/** The answer to a request the check refused. */
export function refuse(res: ServerResponse, why: Exclude<Verdict, 'ok'>): void {
  sendError(res, why === 401 ? 401 : 403, {
    name: 'Unauthorized',
    kind: 'input',
    message:
      why === 401
        ? 'this request has no session token: open the address printed by `mixup-studio serve`'
        : why === 403
          ? 'the session token is wrong: open the address printed by `mixup-studio serve`'
          : "the request's Host header does not name this machine (a guard against DNS rebinding): open the address printed by `mixup-studio serve`, or start it with --allow-host NAME for the name you use",
  });
}

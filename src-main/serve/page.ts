/**
 * The built page over HTTP: `/` (or `/index.html`) with its CSP (the socket may connect back to this server) and,
 * when the request's `?token=` is right, the HttpOnly SameSite=Strict cookie that lets the browser's asset
 * requests carry the token; the other files of the built renderer, strictly from inside its folder.
 */
import { createReadStream, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contentType, pageCsp, pageHeaders, resolveStaticFile } from '../api/page-files';
import { sameToken } from './access';
import { appError, SECURITY_HEADERS, sendError } from './answers';

export interface PageSite {
  /** The built renderer folder (out/renderer). */
  rendererDir: string;
  token: string;
  /** The port listened on (known once listening). */
  port(): number;
  cookieName(): string;
}

export function isPagePath(path: string): boolean {
  return path === '/' || path === '/index.html';
}

/** Answers an authorized GET or HEAD of the page. */
export function servePage(site: PageSite, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const port = site.port();
  const wsHosts = new Set([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]);
  if (req.headers.host) wsHosts.add(`ws://${req.headers.host}`);
  const headers: Record<string, string> = { ...SECURITY_HEADERS, ...pageHeaders(pageCsp({ connect: [...wsHosts] })) };
  const fromQuery = url.searchParams.get('token');
  if (fromQuery && sameToken(fromQuery, site.token)) {
    headers['set-cookie'] = `${site.cookieName()}=${encodeURIComponent(site.token)}; Path=/; HttpOnly; SameSite=Strict`;
  }
  // Read per request: a rebuild (npm run build) while serving changes the asset names it lists.
  const file = resolveStaticFile(site.rendererDir, '/');
  if (!file) return sendError(res, 404, appError('not-found', `the page is not built (${site.rendererDir}/index.html)`));
  res.writeHead(200, headers);
  res.end(readFileSync(file));
}

/** Answers an authorized GET or HEAD of another file of the built renderer; the hashed `/assets/` are cached for good. */
export function serveStatic(site: PageSite, res: ServerResponse, path: string): void {
  const file = resolveStaticFile(site.rendererDir, path);
  if (!file) return sendError(res, 404, appError('not-found', `no file ${path}`));
  const cache = path.startsWith('/assets/') ? 'private, max-age=31536000, immutable' : 'no-store';
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': contentType(file), 'cache-control': cache });
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

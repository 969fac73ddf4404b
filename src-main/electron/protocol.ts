/**
 * The app's own URL scheme. The page is loaded from `mixup://app/index.html` (not file://), and images
 * reach it as `mixup://app/media/<thumb|image>/<imageId>` (also accepted: `mixup://media/<kind>/<id>`):
 * the main process looks the file up by id in SQLite, so the page can never name a path on disk.
 * Renderer files are served strictly from inside the built renderer folder (resolveStaticFile).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Protocol } from 'electron';
import { toErrorEnvelope } from '../core/errors';
import type { Services } from '../core/services';
import { BASE_HEADERS, contentType, MEDIA_CACHE, pageCsp, pageHeaders, parseMediaPath, resolveStaticFile } from '../api/page-files';

export const APP_SCHEME = 'mixup';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/** Must run before the app is ready: a standard, secure scheme that can load ES modules and use fetch. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } },
  ]);
}

/** The CSP of the Electron page: only its own scheme, no inline scripts, no network. */
export const APP_CSP = pageCsp();

export type { MediaResolver } from '../api/core';
import type { MediaResolver } from '../api/core';

export interface AppRequestContext {
  rendererDir: string;
  services: () => Services;
  resolveMedia: MediaResolver;
}

function notFound(message: string, status = 404): Response {
  return new Response(JSON.stringify({ error: { name: 'AppError', kind: 'not-found', message } }), {
    status,
    headers: { ...BASE_HEADERS, 'content-type': 'application/json' },
  });
}

function fileResponse(file: string, type: string, extra: Record<string, string> = {}): Response {
  const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers: { ...BASE_HEADERS, 'content-type': type, ...extra } });
}

/** Answers one `mixup://` request (the handler given to `protocol.handle`). */
export async function handleAppRequest(request: Pick<Request, 'url' | 'method'>, ctx: AppRequestContext): Promise<Response> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return notFound(`bad URL ${request.url}`, 400);
  }
  if (url.protocol !== `${APP_SCHEME}:`) return notFound(`not an app URL: ${request.url}`);
  if (request.method !== 'GET' && request.method !== 'HEAD') return notFound(`${request.method} is not allowed`, 405);
  const media = url.hostname === 'media' ? parseMediaPath(url.pathname) : url.hostname === APP_HOST && url.pathname.startsWith('/media/') ? parseMediaPath(url.pathname) : undefined;
  if (media !== undefined) {
    if (media === null) return notFound(`no media at ${url.pathname}`);
    try {
      const found = await ctx.resolveMedia(ctx.services(), media.kind, media.imageId);
      return new Response(new Uint8Array(found.data), { status: 200, headers: { ...BASE_HEADERS, 'content-type': found.contentType, 'cache-control': MEDIA_CACHE } });
    } catch (err) {
      const env = toErrorEnvelope(err);
      return notFound(env.message);
    }
  }
  if (url.hostname !== APP_HOST) return notFound(`unknown host ${url.hostname}`);
  const file = resolveStaticFile(ctx.rendererDir, url.pathname);
  if (!file) return notFound(`no file ${url.pathname}`);
  const type = contentType(file);
  return fileResponse(file, type, type.startsWith('text/html') ? pageHeaders(APP_CSP) : {});
}

export function installAppProtocol(protocol: Pick<Protocol, 'handle'>, ctx: AppRequestContext): void {
  protocol.handle(APP_SCHEME, (request) => handleAppRequest(request, ctx));
}

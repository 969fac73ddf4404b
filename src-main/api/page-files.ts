/**
 * Pieces shared by the two ways the page is served (the `serve` bridge and Electron's `mixup://`
 * protocol): locating the built renderer, mapping a URL path to a file strictly inside it, content types,
 * the Content-Security-Policy and the headers every answer carries, and parsing media URLs (which name an
 * image id, never a path).
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { AppError } from '../core/errors';
import { packageRoot } from '../core/entries';

/** The built renderer (`out/renderer`, made by `npm run build`). */
export function rendererDir(root = packageRoot()): string {
  const dir = join(root, 'out', 'renderer');
  if (!existsSync(join(dir, 'index.html'))) {
    throw new AppError('not-found', `the page is not built: ${join(dir, 'index.html')} is missing; run \`npm run build\` in ${root}`);
  }
  return dir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` that URL path `urlPath` names, or null when it names nothing there. Refuses
 * anything that could leave `root`: `..` segments (raw or percent-encoded), backslashes, NUL, absolute
 * paths, and symbolic links pointing outside. `/` maps to `index.html`.
 */
export function resolveStaticFile(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s === '..' || s === '.' || s.includes(':'))) return null;
  const rel = segments.length === 0 ? 'index.html' : segments.join('/');
  if (isAbsolute(rel)) return null;
  const base = resolve(root);
  const file = resolve(base, rel);
  const inside = (p: string, b: string) => {
    const r = relative(b, p);
    return r !== '' && !r.startsWith('..') && !isAbsolute(r) && !r.split(sep).includes('..');
  };
  if (!inside(file, base)) return null;
  try {
    if (!statSync(file).isFile()) return null;
    if (!inside(realpathSync(file), realpathSync(base))) return null;
  } catch {
    return null;
  }
  return file;
}

export interface MediaRequest {
  kind: 'thumb' | 'image';
  imageId: number;
}

/** `/media/thumb/123` (or `thumb/123` under the media host) → `{kind, imageId}`; anything else → null. */
export function parseMediaPath(path: string): MediaRequest | null {
  const m = /^\/?(?:media\/)?(thumb|image)\/([1-9]\d{0,15})\/?$/.exec(path.split('?')[0]!);
  if (!m) return null;
  const imageId = Number(m[2]);
  if (!Number.isSafeInteger(imageId)) return null;
  return { kind: m[1] as 'thumb' | 'image', imageId };
}

/** Headers on every answer of both front ends (`serve` adds its own on top: SECURITY_HEADERS in serve/answers.ts). */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Cache-Control of an image or thumbnail answer. */
export const MEDIA_CACHE = 'private, max-age=3600';

/** The page's own headers (besides BASE_HEADERS): HTML, never cached (a rebuild changes the asset names it lists), its CSP. */
export function pageHeaders(csp: string): Record<string, string> {
  return { 'content-type': TYPES['.html'], 'cache-control': 'no-store', 'content-security-policy': csp };
}

/** The page's Content-Security-Policy: no inline or foreign scripts, connections only back home. */
export function pageCsp(opts: { connect?: string[]; img?: string[] } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Svelte sets style attributes for layout (virtualised lists, chart sizes); no scripts can come from this.
    "style-src 'self' 'unsafe-inline'",
    ["img-src 'self' data: blob:", ...(opts.img ?? [])].join(' '),
    "font-src 'self'",
    ["connect-src 'self'", ...(opts.connect ?? [])].join(' '),
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

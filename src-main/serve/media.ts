/** Images and thumbnails over HTTP: `/media/<thumb|image>/<imageId>`, looked up by id (never a path). */
import type { ServerResponse } from 'node:http';
import type { MediaResolver } from '../api/core';
import { MEDIA_CACHE, parseMediaPath } from '../api/page-files';
import { toErrorEnvelope } from '../core/errors';
import type { Services } from '../core/services';
import { appError, SECURITY_HEADERS, sendError, statusFor } from './answers';

/** Answers one authorized GET or HEAD under `/media/`. */
export async function handleMedia(res: ServerResponse, path: string, services: Services, resolveMedia: MediaResolver | undefined): Promise<void> {
  const media = parseMediaPath(path);
  if (!media) return sendError(res, 404, appError('not-found', `no media at ${path}`));
  if (!resolveMedia) return sendError(res, 501, appError('unsupported', 'media are not available'));
  try {
    const found = await resolveMedia(services, media.kind, media.imageId);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': found.contentType, 'cache-control': MEDIA_CACHE, 'content-length': found.data.length });
    res.end(found.data);
  } catch (err) {
    const env = toErrorEnvelope(err);
    sendError(res, statusFor(env), env);
  }
}

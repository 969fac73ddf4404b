/**
 * The messages a `serve` WebSocket accepts, checked with the same schema layer (zod) as every
 * operation's input: `{type: 'start', id?, name, input?}` and `{type: 'cancel', id}`. Anything else —
 * a binary frame, text that is not JSON, JSON that is not one of these objects — is refused with an
 * `input` error that names the field at fault and never quotes the frame.
 */
import { z } from 'zod';
import { CALL_ID } from '../api/calls';
import { AppError, describeIssues } from '../core/errors';

const callId = z.string().regex(CALL_ID, "use 1 to 100 letters, digits, '_', '.' or '-'");

const startMessage = z
  .object({
    type: z.literal('start'),
    id: callId.optional(),
    name: z.string().min(1).max(200),
    input: z.unknown().optional(),
  })
  .strict();

const cancelMessage = z.object({ type: z.literal('cancel'), id: callId }).strict();

export const socketMessage = z.discriminatedUnion('type', [startMessage, cancelMessage]);
export type SocketMessage = z.infer<typeof socketMessage>;

const SHAPE = "send {type: 'start', id, name, input} or {type: 'cancel', id} as JSON text";

/** What one frame holds: its message, or the error to answer with (and the frame's id, when it had a usable one). */
export type ParsedFrame = { message: SocketMessage } | { error: AppError; id?: string };

export function parseSocketMessage(raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParsedFrame {
  if (isBinary) return { error: new AppError('input', `WebSocket message: a binary frame; ${SHAPE}`) };
  const bytes = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not V8's message: it quotes the text.
    return { error: new AppError('input', `WebSocket message: not JSON; ${SHAPE}`) };
  }
  const res = socketMessage.safeParse(doc);
  if (res.success) return { message: res.data };
  return { error: new AppError('input', `WebSocket message: ${describeIssues(res.error.issues)}; ${SHAPE}`), id: idOf(doc) };
}

function idOf(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const id = (doc as { id?: unknown }).id;
  return callId.safeParse(id).success ? (id as string) : undefined;
}

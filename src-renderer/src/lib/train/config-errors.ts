/**
 * Turns a `config:resolve` error into messages per field, so the editor can show each next to its input.
 * The error is either an envelope with `details` (zod-like issues with a path) or a message of the form
 * `[op:name: ]field.path: message; other.path: message` (see describeIssues in src-main/core/errors.ts).
 */

export type FieldErrors = Record<string, string>;

const KNOWN_ROOTS = ['seed', 'epochs', 'batchSize', 'model', 'optimizer', 'augment', 'mixup', 'policy'];

function normaliseField(raw: string): string {
  let f = raw.trim();
  // strip "config." prefixes added by the op input schema
  while (f.startsWith('config.')) f = f.slice('config.'.length);
  return f;
}

export function fieldErrorsFrom(err: unknown): FieldErrors {
  const out: FieldErrors = {};
  const details = (err as { details?: unknown } | null)?.details;
  const issues = Array.isArray(details)
    ? details
    : Array.isArray((details as { issues?: unknown } | null)?.issues)
      ? (details as { issues: unknown[] }).issues
      : null;
  if (issues) {
    for (const i of issues as { path?: unknown[]; field?: string; message?: string }[]) {
      const field = normaliseField(i.field ?? (i.path ?? []).map(String).join('.'));
      if (i.message) out[field || '_'] = out[field || '_'] ? `${out[field || '_']}; ${i.message}` : i.message;
    }
    if (Object.keys(out).length > 0) return out;
  }
  const message = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
  const fieldRe = new RegExp(`(?:^|[\\s:])((?:config\\.)?(?:${KNOWN_ROOTS.join('|')})(?:\\.[\\w]+|\\[\\d+\\])*)\\s*:\\s*(.+)$`);
  for (const part of message.split(/;\s+/)) {
    const m = fieldRe.exec(part.trim());
    if (m) {
      const field = normaliseField(m[1]!.replace(/\[(\d+)\]/g, '.$1'));
      out[field] = out[field] ? `${out[field]}; ${m[2]}` : m[2]!;
    } else {
      out['_'] = out['_'] ? `${out['_']}; ${part.trim()}` : part.trim();
    }
  }
  return out;
}

/** The error for a field, including errors reported on one of its children (e.g. model.inputSize.0). */
export function errorFor(errors: FieldErrors, field: string): string | undefined {
  if (errors[field]) return errors[field];
  const child = Object.keys(errors).find((k) => k.startsWith(`${field}.`));
  return child ? errors[child] : undefined;
}

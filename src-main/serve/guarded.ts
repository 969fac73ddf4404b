/** The one guard around every `serve` handler: nothing a request does can end the process. */

/**
 * Wraps an event handler so that nothing it throws or rejects with escapes to the process (an uncaught
 * exception or unhandled rejection would end `serve` and every call running in it): the error is logged
 * and `answer` replies to whoever sent the request, as far as that is still possible.
 */
export function guarded<A extends unknown[]>(
  log: (line: string) => void,
  handler: (...args: A) => unknown,
  where: (args: A) => string,
  answer: (err: unknown, args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    const fail = (err: unknown) => {
      log(`serve: ${where(args)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      try {
        answer(err, args);
      } catch {
        /* the peer is gone; nothing left to tell it */
      }
    };
    try {
      const out = handler(...args);
      if (out instanceof Promise) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

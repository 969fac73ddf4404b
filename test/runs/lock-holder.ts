/**
 * A stand-in for a training worker in the run-lock tests: takes the run lock at argv[2] and drops every
 * reference to it, says `held` on stdout after a full garbage collection (run with --expose-gc: the lock must
 * survive its handle being collected), then stays alive until killed (it never releases: only its death can).
 */
import { acquireFileLock } from '../../src-main/core/file-lock';

const took = acquireFileLock(process.argv[2]) !== null;
(globalThis as { gc?: () => void }).gc?.();
process.stdout.write(took ? 'held\n' : 'busy\n');
setInterval(() => {}, 60_000);

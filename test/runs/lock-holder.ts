/**
 * A stand-in for a training worker in the run-lock tests: takes the run lock at argv[2], says `held` on
 * stdout, then stays alive until killed (it never releases: only its death can).
 */
import { acquireRunLock } from '../../src-main/training/run-lock';

const lock = acquireRunLock(process.argv[2]);
process.stdout.write(lock ? 'held\n' : 'busy\n');
setInterval(() => {}, 60_000);

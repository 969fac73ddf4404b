/** Prints what another process sees of the run lock at argv[2] (held, free or absent). */
import { probeRunLock } from '../../src-main/training/run-lock';

process.stdout.write(probeRunLock(process.argv[2]));

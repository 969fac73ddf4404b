/** Prints what another process sees of the run lock at argv[2] (held, free or absent). */
import { probeFileLock } from '../../src-main/core/file-lock';

process.stdout.write(probeFileLock(process.argv[2]));

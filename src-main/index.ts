/**
 * Electron entry: hands the real `electron` module to the app (src-main/electron/app.ts, unit-tested with a
 * fake). Thin on purpose: everything the app does is in src-main/electron/ and the shared core.
 */
import * as electron from 'electron';
import { operations } from './api/operations';
import { resolveMedia } from './datasets/media';
import { startApp } from './electron/app';
import { utilityProcessTraining } from './electron/training-transport';

startApp(electron, {
  operations,
  resolveMedia,
  trainingTransport: utilityProcessTraining(electron.utilityProcess),
});

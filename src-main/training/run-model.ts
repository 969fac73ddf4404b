/** The trained model of a finished run, for export and prediction. */
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';
import type { Services } from '../core/services';
import { loadModel } from './checkpoint';
import { getRun } from './runs-repository';

/** Loads the final model (softmax outputs) of a completed run; AppError naming the run otherwise. */
export async function loadRunModel(services: Services, runId: number | string): Promise<tf.LayersModel> {
  const run = getRun(services.db, runId);
  if (run.status !== 'completed' || !run.modelDir) {
    throw new AppError('conflict', `run ${run.id} has no trained model (status ${run.status}); only a completed run can be loaded`);
  }
  return loadModel(run.modelDir);
}

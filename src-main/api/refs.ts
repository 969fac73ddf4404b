/** Input schemas for the references every front end passes: a dataset by name or id, a run by id. */
import { z } from 'zod';

/** A dataset's name (as given by `--name`) or its numeric id. */
export const datasetRef = z.union([z.string().min(1), z.number().int().positive()]);

/** A run id, as a number or as the digits a command line gives. */
export const runRef = z.union([z.number().int().positive(), z.string().regex(/^\d+$/, 'must be a run id (a number)').transform(Number)]);

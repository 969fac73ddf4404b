/** Input schemas for the references every front end passes: a dataset by name or id, a run by id. */
import { z } from 'zod';
import { pathTextProblem } from '../core/user-files';
import { BACKEND_ORDER, unknownBackendMessage } from '../training/engine/index';

/** A dataset's name (as given by `--name`) or its numeric id. */
export const datasetRef = z.union([z.string().min(1), z.number().int().positive()]);

/**
 * A path of the user's machine (a folder or file to read or write): checked as text (no NUL byte, within the
 * system's name and path lengths), so a bad one is an input error naming the field, not an errno.
 */
export const pathText = (required = 'must be a path') =>
  z
    .string()
    .min(1, required)
    .superRefine((p, ctx) => {
      const problem = pathTextProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** A training backend by name (`--backend`); left out, the best one that loads is chosen. */
export const backendName = z.enum(BACKEND_ORDER, {
  error: (issue) => unknownBackendMessage(issue.input),
});

/** A run id, as a number or as the digits a command line gives. */
export const runRef = z.union([z.number().int().positive(), z.string().regex(/^\d+$/, 'must be a run id (a number)').transform(Number)]);

/** A backbone's name (as given by `backbone import --name`) or its numeric id. */
export const backboneRef = z.union([z.string().min(1, 'name a backbone'), z.number().int().positive()]);

/**
 * The error envelope as the page needs it: `AppError` and the rebuilding of an envelope into one. The one
 * runtime module of src-main the renderer bundles besides mixup/schedule.ts; free of Node.
 */
export { AppError, fromErrorEnvelope, type ErrorEnvelope, type ErrorKind } from '../core/errors';

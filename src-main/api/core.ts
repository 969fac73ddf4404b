/**
 * The composition root of a process that serves the contract: the home's services (database checked,
 * migrated, backed up), the operations table, how images are read for the page, and how a training run gets
 * its process. The app, `serve` and the CLI each build one core and hand its parts to their front end; nothing
 * is plugged in through a global.
 */
import type { Services } from '../core/services';
import { openServices } from '../db/open-home';
import type { TrainingTransport } from '../training/host';
import type { Operation } from './contract';

/** An image's bytes by id for the page: checked against the index, bounded, never a file the index does not name. */
export type MediaResolver = (services: Services, kind: 'thumb' | 'image', imageId: number) => Promise<{ data: Buffer; contentType: string }>;

export interface CoreOptions {
  home: string;
  /** The process each training run gets (the app: an Electron utilityProcess). Default: a forked Node child. */
  trainingTransport?: () => TrainingTransport;
  /** The operations served: ./operations.ts (imported by the caller, lazily where start-up time counts); tests serve their own. */
  operations: ReadonlyMap<string, Operation>;
  /** datasets/media.ts `resolveMedia`, for a front end that shows images (the app, `serve`). */
  resolveMedia?: MediaResolver;
}

export interface Core {
  readonly services: Services;
  readonly operations: ReadonlyMap<string, Operation>;
  readonly resolveMedia?: MediaResolver;
  readonly trainingTransport?: () => TrainingTransport;
  close(): void;
}

/** Opens the home and composes the core; throws what opening the home throws (a newer schema, a file for a folder). */
export function createCore(opts: CoreOptions): Core {
  const services = openServices({ home: opts.home });
  return {
    services,
    operations: opts.operations,
    resolveMedia: opts.resolveMedia,
    trainingTransport: opts.trainingTransport,
    close: () => services.close(),
  };
}

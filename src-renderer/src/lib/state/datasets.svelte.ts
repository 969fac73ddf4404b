/**
 * Datasets screen state: the list of indexed datasets, the one selected (`datasets:show`), and the
 * indexing job with its progress (events `index.progress` / `verify.progress` tagged with the call id).
 */
import type { DatasetDetail, DatasetListItem, IndexResult, OpInputOf, ProgressEvent } from '../../../../src-main/api/types';
import { app } from './app.svelte';

export interface IndexJob {
  callId: string;
  root: string;
  progress: ProgressEvent | null;
  phase: string;
  cancel(): void;
}

export class DatasetsState {
  list = $state.raw<DatasetListItem[]>([]);
  loaded = $state(false);
  detail = $state.raw<DatasetDetail | null>(null);
  job = $state<IndexJob | null>(null);
  lastIndex = $state.raw<IndexResult | null>(null);

  selected = $derived(this.list.find((d) => d.id === app.datasetId) ?? null);

  async refresh(): Promise<void> {
    const list = await app.attempt('Could not list datasets', () => app.api.call('datasets:list', {}));
    if (!list) return;
    this.list = list;
    this.loaded = true;
    if (app.datasetId == null || !list.some((d) => d.id === app.datasetId)) {
      app.datasetId = list[0]?.id ?? null;
    }
    await this.loadDetail();
  }

  async select(id: number): Promise<void> {
    app.datasetId = id;
    await this.loadDetail();
  }

  async loadDetail(): Promise<void> {
    const id = app.datasetId;
    if (id == null) {
      this.detail = null;
      return;
    }
    const detail = await app.attempt('Could not open the dataset', () =>
      app.api.call('datasets:show', { dataset: String(id) }),
    );
    if (detail && app.datasetId === id) this.detail = detail;
  }

  /** Indexes a folder with a live progress bar; resolves when the job has ended (done, failed or cancelled). */
  async index(root: string, opts: { name?: string; verify?: boolean } = {}): Promise<void> {
    if (this.job) return;
    const input: OpInputOf<'datasets:index'> = { root };
    if (opts.name) input.name = opts.name;
    if (opts.verify) input.verify = true;
    const started = app.api.start('datasets:index', input);
    const job: IndexJob = { callId: started.id, root, progress: null, phase: 'Scanning', cancel: () => started.cancel() };
    this.job = job;
    const onProgress = (phase: string) => (data: ProgressEvent, callId?: string) => {
      if (callId !== undefined && callId !== started.id) return;
      if (this.job) {
        this.job.progress = data;
        this.job.phase = phase;
      }
    };
    const offs = [
      app.api.on('index.progress', onProgress('Indexing')),
      app.api.on('verify.progress', onProgress('Verifying')),
    ];
    try {
      const doc = await started.result;
      this.lastIndex = doc;
      app.datasetId = doc.dataset.id;
      app.info('Dataset indexed', `${doc.dataset.name}: ${doc.images.toLocaleString('en-US')} images in ${doc.classes.length} classes`);
      await this.refresh();
    } catch (err) {
      app.error(err, `Could not index ${root}`);
      // A job stopped in its verify pass has already committed the scan: show what is there now.
      await this.refresh();
    } finally {
      for (const off of offs) off();
      this.job = null;
    }
  }
}

export const datasets = new DatasetsState();

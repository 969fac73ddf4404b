/**
 * Sweeps screen state: the sweeps of the home (`sweeps:list`), the open sweep's document (`sweeps:show`, kept
 * fresh while it runs: from its events when this page started it, by polling when another tab or the CLI did),
 * the new-sweep form (parameters added here or from the config editor's "Sweep" buttons), and the actions
 * (start, cancel, resume, open the best in compare, train the best on all data).
 */
import type { SweepDoc, SweepListItem } from '../../../../src-main/api/types';
import { suggestedValues, type Column, type Metric } from '../sweeps/sweep-view';
import type { StartedCall } from '../api/client';
import { app } from './app.svelte';
import { runs } from './runs.svelte';
import { train } from './train.svelte';

export interface ParamRow {
  id: number;
  key: string;
  values: string;
}

let rowSeq = 0;

function dotted(config: unknown, key: string): unknown {
  let at: unknown = config;
  for (const p of key.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[p] : undefined;
  return at;
}

export class SweepsState {
  list = $state.raw<SweepListItem[]>([]);
  loaded = $state(false);
  openId = $state<number | null>(null);
  doc = $state.raw<SweepDoc | null>(null);
  params = $state<ParamRow[]>([]);
  method = $state<'grid' | 'random' | 'bayes'>('grid');
  trials = $state(10);
  metric = $state<Metric>('valLoss');
  earlyStop = $state<'none' | 'hyperband'>('none');
  seed = $state(0);
  starting = $state(false);
  /** The call this page started (its events refresh the open sweep at once). */
  callId = $state<string | null>(null);
  progress = $state<{ done: number; total: number; label: string } | null>(null);
  sortCol = $state<Column>('trial');
  sortDir = $state<'asc' | 'desc'>('asc');
  #timer: ReturnType<typeof setTimeout> | null = null;
  #subscribed = false;
  /** Whether the screen is shown (polling only then). */
  #watching = false;
  /** The sweep this page's call runs, once its first progress named it (the view follows it only once). */
  #followed: string | null = null;

  /** The screen is shown: read the list and the open sweep (and keep a running one fresh). */
  async show(): Promise<void> {
    this.#watching = true;
    await this.refresh();
  }

  /** The screen is gone: stop polling. */
  hide(): void {
    this.#watching = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async refresh(): Promise<void> {
    const list = await app.attempt('Could not list sweeps', () => app.api.call('sweeps:list', {}));
    if (!list) return;
    this.list = list;
    this.loaded = true;
    if (this.openId === null && list.length) await this.open(list[list.length - 1].id);
    else if (this.openId !== null) await this.load();
  }

  async open(id: number): Promise<void> {
    this.openId = id;
    await this.load();
  }

  /** Reads the open sweep again; while it runs somewhere, again in a moment. */
  async load(): Promise<void> {
    const id = this.openId;
    if (id === null) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    let doc: SweepDoc | undefined;
    try {
      doc = await app.api.call('sweeps:show', { sweep: id });
    } catch (err) {
      // One failed read (the server busy, restarting) does not end the watch of a running sweep.
      if (this.doc?.sweep.id === id && this.doc.status === 'running' && this.#watching) this.#timer = setTimeout(() => void this.load(), 3000);
      else app.error(err, 'Could not read the sweep');
      return;
    }
    if (this.openId !== id) return;
    this.doc = doc;
    if (doc.status === 'running' && this.#watching) this.#timer = setTimeout(() => void this.load(), 1500);
    const item = this.list.find((s) => s.id === id);
    if (item && item.status !== doc.status) void this.refreshList();
  }

  async refreshList(): Promise<void> {
    const list = await app.attempt('Could not list sweeps', () => app.api.call('sweeps:list', {}));
    if (list) this.list = list;
  }

  /** Adds (or replaces) a swept key, from the form or a config field's "Sweep" button. */
  addParam(key = '', values?: string): void {
    const v = values ?? (key ? suggestedValues(key, dotted(train.config, key)) : '');
    const existing = this.params.find((p) => p.key === key && key !== '');
    if (existing) existing.values = v;
    else this.params = [...this.params, { id: ++rowSeq, key, values: v }];
  }

  removeParam(id: number): void {
    this.params = this.params.filter((p) => p.id !== id);
  }

  sortBy(col: Column): void {
    if (this.sortCol === col) this.sortDir = this.sortDir === 'asc' ? 'desc' : 'asc';
    else {
      this.sortCol = col;
      this.sortDir = 'asc';
    }
  }

  #subscribe(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    let pending = false;
    const soon = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        void this.load();
      }, 300);
    };
    app.api.on('sweep.progress', (data, callId) => {
      if (callId !== this.callId) return;
      this.progress = { done: data.done, total: data.total, label: data.label };
      // The new sweep opens once, when it starts; after that the user may look at another.
      if (this.#followed !== callId) {
        this.#followed = callId;
        void this.open(data.sweepId).then(() => this.refreshList());
      } else if (this.openId === data.sweepId) soon();
    });
    app.api.on('sweep.trial', (data, callId) => {
      if (callId === this.callId && this.openId === data.sweepId) soon();
    });
    app.api.on('train.epoch', (_data, callId) => {
      if (callId === this.callId && this.openId === this.doc?.sweep.id && this.doc?.status === 'running') soon();
    });
  }

  async start(dataset: number): Promise<void> {
    const params = this.params.filter((p) => p.key.trim() !== '').map((p) => `${p.key.trim()}=${p.values.trim()}`);
    if (params.length === 0) {
      app.error(new Error('Add a parameter to sweep (a config key and its values), or press "Sweep" beside a field of the Train screen'), 'Nothing to sweep');
      return;
    }
    const input = {
      dataset: String(dataset),
      config: $state.snapshot(train.config),
      configSource: 'the Train screen’s config',
      params,
      method: this.method,
      metric: this.metric,
      earlyStop: this.earlyStop,
      seed: this.seed,
      ...(this.method === 'grid' ? {} : { trials: this.trials }),
    };
    await this.#follow(app.api.start('sweeps:run', input), 'The sweep did not run');
  }

  /** Follows a sweep call this page started (sweeps:run or sweeps:resume) to its end, then reads the outcome. */
  async #follow(started: StartedCall<SweepDoc>, failure: string): Promise<void> {
    this.#subscribe();
    this.starting = true;
    this.callId = started.id;
    this.progress = { done: 0, total: 0, label: 'checking every trial’s config…' };
    try {
      const doc = await started.result;
      this.doc = doc;
      this.openId = doc.sweep.id;
      app.info(`Sweep ${doc.sweep.id} ${doc.status}`, doc.best ? `best: trial ${doc.best.index + 1} (run ${doc.best.run.id})` : doc.error ?? 'no completed trial');
    } catch (err) {
      app.error(err, failure);
    } finally {
      this.starting = false;
      this.callId = null;
      this.progress = null;
      await this.refreshList();
      await this.load();
    }
  }

  async cancel(): Promise<void> {
    if (this.openId === null) return;
    const id = this.openId;
    await app.attempt('Could not cancel the sweep', () => app.api.call('sweeps:cancel', { sweep: id }));
    await this.load();
  }

  async resume(): Promise<void> {
    if (this.openId === null) return;
    await this.#follow(app.api.start('sweeps:resume', { sweep: this.openId }), 'The sweep did not resume');
  }

  /** The trials that trained (completed, or stopped early) in compare, the best pinned as the baseline. */
  async openBestInCompare(): Promise<void> {
    const d = this.doc;
    if (!d?.best) return;
    const ids = d.trials.filter((t) => (t.status === 'completed' || t.status === 'stopped') && t.run && t.epochs > 0).map((t) => t.run!.id);
    await runs.refresh();
    runs.selected = ids;
    runs.baseline = null;
    runs.pin(d.best.run.id);
    app.go('runs');
    if (ids.length >= 2) await runs.runCompare();
  }

  trainingBest = $state(false);

  async trainBest(): Promise<void> {
    const d = this.doc;
    if (!d?.best) return;
    this.trainingBest = true;
    try {
      const r = await app.api.call('sweeps:train-best', { sweep: d.sweep.id, allData: true });
      app.info(`Run ${r.run.id} ${r.status}`, `the best config (trial ${d.best.index + 1}) trained on train + val: export it from the Export screen`);
      app.runId = r.run.id;
      await runs.refresh();
    } catch (err) {
      app.error(err, 'Could not train the best config');
    } finally {
      this.trainingBest = false;
    }
  }
}

export const sweeps = new SweepsState();

/**
 * Pair-policy screen state: the class list, an n×n weight matrix (Float64Array, as SQLite stores them: a 0.3 reads 0.3, not float32's 0.30000001192092896; 1 = default, 0 = forbidden)
 * and notes, kept outside Svelte's proxies (a 1,000-class matrix is a million cells) with a `version` counter
 * that tells the canvas when a full redraw is due. Single-cell changes go through `toggle`/`setWeight`,
 * which the matrix paints itself (only the two symmetric cells).
 */
import type { PolicyMatrix, PreviewResult, RunConfig } from '../../../../src-main/api/types';

/** A pair of the heatmap (a stored pair, as `policy:matrix` answers it). */
type PolicyPair = PolicyMatrix['pairs'][number];
import { filterClasses, pairKey } from '../policy/matrix-geometry';
import { unmixedShareByClass } from '../train/schedule';
import { app } from './app.svelte';

export class PolicyState {
  dataset = $state<number | null>(null);
  classes = $state.raw<string[]>([]);
  /** Bumped whenever the matrix must be redrawn whole (load, revert, import). */
  version = $state(0);
  /** Bumped on every pair change (lists re-read the matrix). */
  changes = $state(0);
  query = $state('');
  loading = $state(false);
  effect = $state.raw<{ name: string; share: number }[] | null>(null);
  effectBusy = $state(false);

  weights = new Float64Array(0);
  notes = new Map<string, string>();
  /** Pairs (i ≤ j) not at the default weight, kept up to date on every change: lists and repaints are O(pairs). */
  nonDefault = new Map<number, { i: number; j: number }>();
  #index = new Map<string, number>();

  visible = $derived(filterClasses(this.classes, this.query));

  /** Pairs not at the default weight, sorted by class names. */
  pairs = $derived.by(() => {
    void this.changes;
    void this.version;
    const out: PolicyPair[] = [];
    const n = this.classes.length;
    for (const { i, j } of this.nonDefault.values()) {
      const a = this.classes[i]!;
      const b = this.classes[j]!;
      out.push({ a, b, weight: this.weights[i * n + j]!, note: this.notes.get(pairKey(a, b)) ?? null });
    }
    return out.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
  });

  weightAt(i: number, j: number): number {
    const n = this.classes.length;
    return this.weights[i * n + j] ?? 1;
  }

  async load(dataset: number): Promise<void> {
    this.loading = true;
    try {
      const doc = await app.attempt('Could not load the pair policy', () =>
        app.api.call('policy:matrix', { dataset: String(dataset) }),
      );
      if (!doc) return;
      this.dataset = dataset;
      this.apply(doc.classes, doc.pairs);
    } finally {
      this.loading = false;
    }
  }

  private apply(classes: string[], pairs: PolicyPair[]): void {
    const n = classes.length;
    this.weights = new Float64Array(n * n).fill(1);
    this.notes = new Map();
    this.nonDefault = new Map();
    this.#index = new Map(classes.map((c, i) => [c, i]));
    this.classes = classes;
    for (const p of pairs) this.store(p.a, p.b, p.weight, p.note ?? null);
    this.effect = null;
    this.version++;
  }

  private store(a: string, b: string, weight: number, note: string | null): void {
    const i = this.#index.get(a);
    const j = this.#index.get(b);
    if (i === undefined || j === undefined) return;
    const n = this.classes.length;
    this.weights[i * n + j] = weight;
    this.weights[j * n + i] = weight;
    const lo = Math.min(i, j);
    const hi = Math.max(i, j);
    if (weight < 1) this.nonDefault.set(lo * n + hi, { i: lo, j: hi });
    else this.nonDefault.delete(lo * n + hi);
    if (note) this.notes.set(pairKey(a, b), note);
    else this.notes.delete(pairKey(a, b));
  }

  /**
   * Forbids an allowed pair or allows a forbidden one. The matrix is updated at once (the caller repaints
   * the two cells); the op runs after, and a failure reverts the matrix and redraws it.
   */
  toggle(i: number, j: number): Promise<boolean> {
    return this.setWeight(this.classes[i]!, this.classes[j]!, this.weightAt(i, j) > 0 ? 0 : 1);
  }

  async setWeight(a: string, b: string, weight: number, note?: string | null): Promise<boolean> {
    const dataset = this.dataset;
    const i = this.#index.get(a);
    const j = this.#index.get(b);
    if (dataset == null || i === undefined || j === undefined) return false;
    const prevWeight = this.weightAt(i, j);
    const prevNote = this.notes.get(pairKey(a, b)) ?? null;
    const nextNote = note === undefined ? prevNote : note;
    this.store(a, b, weight, weight >= 1 && note === undefined ? null : nextNote);
    this.changes++;
    this.effect = null;
    try {
      const pair = { dataset: String(dataset), a, b };
      const withNote = nextNote ? { note: nextNote } : {};
      if (weight <= 0) {
        await app.api.call('policy:forbid', { ...pair, ...withNote });
      } else if (weight >= 1 && !note) {
        await app.api.call('policy:allow', pair);
      } else {
        await app.api.call('policy:weight', { ...pair, weight, ...withNote });
      }
      return true;
    } catch (err) {
      this.store(a, b, prevWeight, prevNote);
      this.changes++;
      this.version++;
      app.error(err, `Could not change ${a} × ${b}`);
      return false;
    }
  }

  async setNote(a: string, b: string, note: string): Promise<boolean> {
    const i = this.#index.get(a);
    const j = this.#index.get(b);
    if (i === undefined || j === undefined) return false;
    return this.setWeight(a, b, this.weightAt(i, j), note.trim() || null);
  }

  /** The policy file (`policy:export` without a file gives the document to download). */
  async exportDoc(): Promise<unknown> {
    if (this.dataset == null) return undefined;
    const res = await app.attempt('Could not export the policy', () =>
      app.api.call('policy:export', { dataset: String(this.dataset) }),
    );
    return res?.policy;
  }

  /** Replaces the policy with an uploaded file, all or nothing (`policy:import` checks every class name). */
  async importText(text: string, fileName: string): Promise<void> {
    if (this.dataset == null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      app.error(new Error(`${fileName}: not valid JSON (${(err as Error).message})`), 'Could not import the policy');
      return;
    }
    const dataset = this.dataset;
    const res = await app.attempt(`Could not import ${fileName}`, () =>
      app.api.call('policy:import', { dataset: String(dataset), policy: parsed }),
    );
    if (!res) return;
    await this.load(dataset);
    app.info('Policy imported', `${res.pairs} pairs from ${fileName}`);
  }

  /** The policy's effect: share of each class left unmixed over a preview of the given config. */
  async computeEffect(config: Partial<RunConfig>, classCounts: Record<string, number>): Promise<void> {
    if (this.dataset == null) return;
    this.effectBusy = true;
    try {
      const doc = await app.attempt('Could not preview MixUp', () =>
        app.api.call('mixup:preview', { dataset: String(this.dataset), config }),
      );
      if (doc) this.effect = unmixedShareByClass(doc, classCounts).sort((x, y) => y.share - x.share);
    } finally {
      this.effectBusy = false;
    }
  }
}

export const policy = new PolicyState();

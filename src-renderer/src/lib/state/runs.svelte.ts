/**
 * Runs & compare state: the runs table (sort, filter, selection), the comparison of the selected runs
 * (`runs:compare` for the config diff, `runs:show` per run for curves, metrics and confusion matrices),
 * and a pinned baseline the others are measured against.
 */
import type { CompareResult, RunDetail, RunListItem } from '../../../../src-main/api/types';
import { filterRuns, sortRuns, type RunSortKey } from '../runs/runs-table';
import { app } from './app.svelte';

export class RunsState {
  list = $state.raw<RunListItem[]>([]);
  loaded = $state(false);
  sortKey = $state<RunSortKey>('id');
  sortDir = $state<'asc' | 'desc'>('desc');
  query = $state('');
  selected = $state<number[]>([]);
  baseline = $state<number | null>(null);
  compare = $state.raw<CompareResult | null>(null);
  details = $state.raw<RunDetail[]>([]);
  comparing = $state(false);

  rows = $derived(sortRuns(filterRuns(this.list, this.query), this.sortKey, this.sortDir));

  async refresh(): Promise<void> {
    const list = await app.attempt('Could not list runs', () => app.api.call('runs:list', {}));
    if (!list) return;
    this.list = list;
    this.loaded = true;
    const ids = new Set(list.map((r) => r.id));
    this.selected = this.selected.filter((id) => ids.has(id));
  }

  sortBy(key: RunSortKey): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 'asc' ? 'desc' : 'asc';
    else {
      this.sortKey = key;
      this.sortDir = key === 'dataset' || key === 'status' ? 'asc' : 'desc';
    }
  }

  /** Names, tags or annotates a run (`runs:label`); resolves to whether it was saved. */
  async label(id: number, l: { name?: string | null; note?: string | null; addTags?: string[]; removeTags?: string[] }): Promise<boolean> {
    const r = await app.attempt(`Could not label run ${id}`, () => app.api.call('runs:label', { run: id, ...l }));
    if (!r) return false;
    await this.refresh();
    return true;
  }

  toggle(id: number): void {
    this.selected = this.selected.includes(id) ? this.selected.filter((x) => x !== id) : [...this.selected, id];
  }

  pin(id: number | null): void {
    this.baseline = this.baseline === id ? null : id;
    if (id != null && !this.selected.includes(id)) this.selected = [...this.selected, id];
  }

  async runCompare(): Promise<void> {
    const ids = [...this.selected].sort((a, b) => a - b);
    if (this.baseline != null && ids.includes(this.baseline)) {
      ids.splice(ids.indexOf(this.baseline), 1);
      ids.unshift(this.baseline);
    }
    if (ids.length < 2) {
      app.error(new Error('Select at least two runs in the table'), 'Nothing to compare');
      return;
    }
    this.comparing = true;
    try {
      const [doc, ...details] = await Promise.all([
        app.api.call('runs:compare', { runs: ids }),
        ...ids.map((id) => app.api.call('runs:show', { run: id })),
      ]);
      this.compare = doc as CompareResult;
      this.details = details as RunDetail[];
    } catch (err) {
      app.error(err, 'Could not compare the runs');
    } finally {
      this.comparing = false;
    }
  }
}

export const runs = new RunsState();

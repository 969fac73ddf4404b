/**
 * The thumbnail gallery of one dataset/class: pages of `datasets:images` fetched on demand for the rows in
 * view, kept in a bounded LRU. Only the visible tiles are ever in the DOM (see virtual-grid.ts).
 */
import type { GalleryImage, ImagesPage, OpInputOf } from '../../../../src-main/api/types';
import { PageCache, pagesFor } from '../datasets/virtual-grid';
import { app } from './app.svelte';

export const GALLERY_PAGE = 200;

export class GalleryState {
  dataset = $state<number | null>(null);
  className = $state<string | null>(null);
  total = $state(0);
  /** Bumped when a page arrives, so the visible tiles re-read the cache. */
  version = $state(0);
  #cache = new PageCache<GalleryImage>(80);
  #inflight = new Set<number>();
  #generation = 0;

  /** Points the gallery at a dataset/class and fetches the first page (which also gives the total). */
  async open(dataset: number, className: string | null): Promise<void> {
    this.dataset = dataset;
    this.className = className;
    this.#cache.clear();
    this.#inflight.clear();
    this.#generation++;
    this.total = 0;
    this.version++;
    await this.fetchPage(0);
  }

  item(index: number): GalleryImage | undefined {
    const page = this.#cache.get(Math.floor(index / GALLERY_PAGE));
    return page?.[index % GALLERY_PAGE];
  }

  /** Fetches the pages covering [start, end) not yet cached. */
  ensure(start: number, end: number): void {
    for (const p of pagesFor(start, end, GALLERY_PAGE)) {
      if (!this.#cache.has(p) && !this.#inflight.has(p)) void this.fetchPage(p);
    }
  }

  private async fetchPage(page: number): Promise<void> {
    if (this.dataset == null) return;
    const gen = this.#generation;
    this.#inflight.add(page);
    // The first page of a view brings the total; later pages skip the count (a full index scan on big datasets).
    const input: OpInputOf<'datasets:images'> = { dataset: String(this.dataset), offset: page * GALLERY_PAGE, limit: GALLERY_PAGE, withTotal: page === 0 };
    if (this.className) input.class = this.className;
    try {
      const res = await app.api.call('datasets:images', input);
      if (gen !== this.#generation) return;
      if (res.total !== null) this.total = res.total;
      this.#cache.set(page, res.items);
      this.version++;
    } catch (err) {
      if (gen === this.#generation) app.error(err, 'Could not load thumbnails');
    } finally {
      if (gen === this.#generation) this.#inflight.delete(page);
    }
  }
}

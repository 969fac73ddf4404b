/**
 * One scan's pass over its candidate files (from the folder walk or the manifest): a new file is read; a known
 * one is only statted, and when its size and mtime are the same it is unchanged (at most relabelled: another
 * class or split); a changed one is read again. Reads go in batches, and each batch's rows are written in one
 * transaction while the next batches are read. Counts what it added, changed and found unchanged.
 */
import { statSync } from 'node:fs';
import { AppError, cancelled } from '../core/errors';
import { mapLimit } from '../core/map-limit';
import type { Candidate, Issue } from './candidates';
import type { FileReport } from './read-file';
import type { ScanReader } from './scan-reader';
import type { ScanWriter } from './scan-repository';
import type { KnownImage } from './snapshot';

export interface ScanPassOptions {
  writer: ScanWriter;
  reader: ScanReader;
  /** The indexed images not met yet, by relative path: what is left after the pass was removed. */
  known: Map<string, KnownImage>;
  /** Files per transaction / worker message. */
  batchSize: number;
  signal?: AbortSignal;
  onProgress?(p: { done: number; total: number; label: string }): void;
  afterBatch?(committed: number): void;
}

/** A file to read, with its row when it is a known (changed) one. */
interface Job {
  c: Candidate;
  prior?: KnownImage;
}

/** One transaction's work: files to read, and known files that only change class or split. */
interface Batch {
  jobs: Job[];
  relabels: [Candidate, KnownImage][];
}

export class ScanPass {
  /** What the sources and the pass met, in order: the scan's issue list. */
  readonly issues: Issue[] = [];
  readonly counts = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  private done = 0;
  private total = 0;
  private lastEmit = 0;
  private walked = false;
  private batch: Job[] = [];
  private relabels: [Candidate, KnownImage][] = [];
  private failure: unknown;
  private committed = 0;

  constructor(private readonly o: ScanPassOptions) {}

  /** `total` is 0 while the walk is still finding files (the label says how many so far). */
  progress(label: string, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastEmit < 100) return;
    this.lastEmit = now;
    const { done, total } = this;
    this.o.onProgress?.(this.walked ? { done, total, label } : { done, total: 0, label: `${label} (${total} found)` });
  }

  /**
   * Takes every candidate of `source` (chunks of candidates, or counts of files the native diff found
   * unchanged) and waits for the last batch to be written. Closes the reader either way.
   */
  async run(source: Iterable<Candidate[] | number>): Promise<void> {
    const { reader, signal } = this.o;
    try {
      // The reads in flight: twice the pool's workers once it is on (reader.concurrency grows when it starts).
      await mapLimit(this.batches(source), () => reader.concurrency, (b) => this.readAndWrite(b));
      if (this.failure) throw this.failure;
      if (signal?.aborted) throw cancelled('scan');
    } catch (err) {
      await reader.close();
      throw err instanceof AppError ? err : signal?.aborted ? cancelled('scan') : err;
    }
    await reader.close();
  }

  /** The batches to read and write, each taken when a read slot is free; stops at a cancel or a failed batch. */
  private async *batches(source: Iterable<Candidate[] | number>): AsyncGenerator<Batch> {
    const { signal, known, batchSize } = this.o;
    const counts = this.counts;
    let sinceYield = 0;
    for (const chunk of source) {
      if (typeof chunk === 'number') {
        // Files the native diff found unchanged (same size and mtime, same class and split).
        this.total += chunk;
        counts.unchanged += chunk;
        this.done += chunk;
        this.progress('scanning');
        sinceYield += chunk;
        if (sinceYield >= 2048) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        continue;
      }
      for (const c of chunk) {
        // Let cancellation (Ctrl+C, the UI) and worker results in every few thousand files.
        if (++sinceYield >= 2048) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        if (signal?.aborted) throw cancelled('scan');
        if (this.failure) throw this.failure;
        this.total++;
        const prior = known.get(c.rel);
        if (!prior) {
          // A new file: size and mtime come from the one read.
          counts.added++;
          this.batch.push({ c });
        } else this.compareStat(c, prior);
        if (this.batch.length + this.relabels.length >= batchSize) {
          const full = this.take();
          if (full) yield full;
        }
      }
      this.progress('scanning');
    }
    this.walked = true;
    const last = this.take();
    if (last) yield last;
  }

  /** A known file is only statted: same size and mtime means unchanged (not read again). */
  private compareStat(c: Candidate, prior: KnownImage): void {
    const st = statSync(c.file, { throwIfNoEntry: false });
    if (!st || !st.isFile()) {
      // Gone (or no longer a file): it stays in `known` and is removed with the other files not found.
      this.issues.push({ rel: c.rel, kind: 'skipped', reason: 'vanished or not a regular file' });
      this.total--;
      return;
    }
    this.o.known.delete(c.rel);
    if (prior.bytes === st.size && prior.mtimeMs === st.mtimeMs) {
      this.counts.unchanged++;
      this.done++;
      const cid = this.o.writer.existingClassId(c.cls);
      const sameSplit =
        c.source === 'pending' ? prior.source === 'auto' || prior.source === 'pending' : prior.source === c.source && prior.split === c.split;
      if (cid !== prior.classId || !sameSplit) this.relabels.push([c, prior]);
    } else {
      this.counts.changed++;
      this.batch.push({ c, prior });
    }
  }

  /** The batch so far, or null when it is empty. */
  private take(): Batch | null {
    const batch = { jobs: this.batch, relabels: this.relabels };
    this.batch = [];
    this.relabels = [];
    return batch.jobs.length === 0 && batch.relabels.length === 0 ? null : batch;
  }

  /** Reads one batch (off this thread when the pool is on) and then writes it; a failure stops the pass. */
  private async readAndWrite({ jobs, relabels }: Batch): Promise<void> {
    const { reader, signal, afterBatch } = this.o;
    try {
      const reports = jobs.length ? await reader.read(jobs.map((j) => j.c.file)) : [];
      if (signal?.aborted || this.failure) return;
      this.write(jobs, reports, relabels);
      this.committed += jobs.length;
      this.done += jobs.length;
      afterBatch?.(this.committed);
      this.progress('reading');
    } catch (err) {
      this.failure ??= err;
    }
  }

  /** One batch's rows, in one transaction. */
  private write(jobs: Job[], reports: FileReport[], relabels: [Candidate, KnownImage][]): void {
    const { writer } = this.o;
    const counts = this.counts;
    writer.batch(() => {
      for (let i = 0; i < jobs.length; i++) {
        const { c, prior } = jobs[i];
        const r = reports[i];
        if (r.missing) {
          // Gone between the walk and the read.
          this.issues.push({ rel: c.rel, kind: 'skipped', reason: 'vanished during the scan' });
          if (prior) {
            writer.remove(prior.id);
            counts.changed--;
            counts.removed++;
          } else counts.added--;
          continue;
        }
        if (!r.ok && r.unreadable) {
          // A read error (EACCES, EIO...) says nothing about the image: no verdict is stored. A new file gets no
          // row; a known one keeps its row as it was (its size or mtime differ from the file's), so the next scan
          // reads it again either way.
          this.issues.push({ rel: c.rel, kind: 'skipped', reason: `${r.reason} (not indexed; the next scan tries again)` });
          if (prior) counts.changed--;
          else counts.added--;
          continue;
        }
        const cid = writer.classId(c.cls);
        // A file of no fixed split keeps the seeded split it had; a new one waits for its own (train until then).
        const keepAuto = c.source === 'pending' && prior?.source === 'auto';
        const split = keepAuto ? prior!.split : c.source === 'pending' ? 'train' : c.split!;
        const source = keepAuto ? 'auto' : c.source;
        if (prior) writer.update(prior.id, cid, split, source, r);
        else writer.insert(c.rel, cid, split, source, r);
      }
      for (const [c, k] of relabels) {
        const keepAuto = c.source === 'pending' && (k.source === 'auto' || k.source === 'pending');
        writer.relabel(k.id, writer.classId(c.cls), keepAuto ? k.split : (c.split ?? 'train'), keepAuto ? k.source : c.source);
      }
    });
  }
}

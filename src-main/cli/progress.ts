/** A stderr progress bar: redrawn in place on a terminal, a line every few seconds otherwise. */
export interface ProgressData {
  done: number;
  total?: number;
  label?: string;
  etaSeconds?: number;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private last?: ProgressData;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(data: ProgressData): void {
    this.last = data;
    const now = Date.now();
    const tty = Boolean(this.stream.isTTY);
    const final = data.total !== undefined && data.done >= data.total;
    if (!final && now - this.lastDraw < (tty ? 100 : 2000)) return;
    this.lastDraw = now;
    this.draw(tty);
  }

  finish(): void {
    if (this.drawn && this.stream.isTTY) this.stream.write('\n');
    this.drawn = false;
  }

  private draw(tty: boolean): void {
    const d = this.last;
    if (!d) return;
    const elapsed = (Date.now() - this.started) / 1000;
    let line: string;
    if (d.total && d.total > 0) {
      const frac = Math.min(1, d.done / d.total);
      const width = 28;
      const filled = Math.round(frac * width);
      const eta = d.etaSeconds ?? (d.done > 0 ? (elapsed * (d.total - d.done)) / d.done : NaN);
      line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${d.done}/${d.total} eta ${formatSeconds(eta)}`;
    } else {
      line = `${d.done} done, ${formatSeconds(elapsed)}`;
    }
    if (d.label) line += `  ${d.label}`;
    if (tty) this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
    else this.stream.write(`${line}\n`);
    this.drawn = true;
  }
}

/**
 * `--early-stop hyperband` (issue 16), as W&B's `hyperband_stopping.py` does it (asynchronous, Li et al. 2018):
 * rungs at fixed epochs `minEpochs · eta^k` below the run's last epoch; a trial that reaches a rung is compared
 * with every other trial that reached it (finished, stopped or running), each by its value of the metric at that
 * epoch, and stops when it is worse than the floor(n/eta)-th best of them. The best trial at a rung never stops,
 * so a sweep always has a trial that ran to the end.
 *
 * The decision is taken at the rung's epoch boundary, in the training process's gate (./run-sweep.ts), so a
 * stopped trial always has exactly the rung's epochs: the same sweep stops the same trials at the same epochs.
 */
export interface HyperbandOptions {
  eta: number;
  minEpochs: number;
}

export const HYPERBAND_DEFAULTS: HyperbandOptions = { eta: 3, minEpochs: 1 };

/** The rungs (numbers of epochs done) of a trial of `epochs` epochs: those below its last epoch. */
export function rungs(epochs: number, o: HyperbandOptions = HYPERBAND_DEFAULTS): number[] {
  const out: number[] = [];
  for (let r = o.minEpochs; r < epochs; r = Math.round(r * o.eta)) {
    out.push(r);
    if (o.eta <= 1) break;
  }
  return out;
}

/** The value of a lower-is-better series after `epochs` epochs (null when missing). */
export function valueAt(series: Array<number | null>, epochs: number): number | null {
  const v = series[epochs - 1];
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/**
 * Whether a trial with lower-is-better `series` stops at rung `rung` (epochs done), against the series of the
 * other trials, as W&B decides: the values at the rung of every trial that reached it, sorted best first; the
 * one at position floor(n / eta) is the threshold, and a trial worse than it stops (so floor(n / eta) + 1 go on,
 * ties kept). Peers that have not reached the rung do not count; a trial without a value goes on.
 */
export function stopsAtRung(series: Array<number | null>, peers: Array<Array<number | null>>, rung: number, o: HyperbandOptions = HYPERBAND_DEFAULTS): boolean {
  const mine = valueAt(series, rung);
  if (mine === null) return false;
  const values = [mine, ...peers.filter((p) => p.length >= rung).map((p) => valueAt(p, rung)).filter((v): v is number => v !== null)].sort((a, b) => a - b);
  const threshold = values[Math.floor(values.length / o.eta)];
  return mine > threshold;
}

/**
 * Hyperband's rule (issue 16), as W&B's: rungs at minEpochs·eta^k below the last epoch; at a rung a trial stops
 * when its value there is worse than the floor(n/eta)-th best of the n trials that reached it, so the best one at a
 * rung never stops.
 */
import { describe, expect, it } from 'vitest';
import { rungs, stopsAtRung, valueAt } from '../../src-main/sweeps/hyperband';

describe('hyperband', () => {
  it('puts rungs at minEpochs·eta^k, below the last epoch', () => {
    expect(rungs(30, { eta: 3, minEpochs: 1 })).toEqual([1, 3, 9, 27]);
    expect(rungs(9, { eta: 3, minEpochs: 1 })).toEqual([1, 3]);
    expect(rungs(20, { eta: 2, minEpochs: 2 })).toEqual([2, 4, 8, 16]);
    expect(rungs(1, { eta: 3, minEpochs: 1 })).toEqual([]);
  });
  it('compares each trial by its value at the rung', () => {
    expect(valueAt([3, 1, 2, 0.5], 3)).toBe(2);
    expect(valueAt([null, 2], 2)).toBe(2);
    expect(valueAt([null], 1)).toBeNull();
    expect(valueAt([1], 3)).toBeNull();
  });
  it('stops a trial worse than the floor(n/eta)-th best at its rung, never the best', () => {
    const o = { eta: 3, minEpochs: 1 };
    expect(stopsAtRung([0.5], [[1.0], [2.0]], 1, o)).toBe(false); // best of 3
    expect(stopsAtRung([1.5], [[1.0], [2.0]], 1, o)).toBe(false); // 2nd of 3: floor(3/3) = 1 → the threshold is the 2nd
    expect(stopsAtRung([2.5], [[1.0], [2.0]], 1, o)).toBe(true); // 3rd of 3
    expect(stopsAtRung([1.5], [[1.0]], 1, o)).toBe(true); // 2nd of 2: floor(2/3) = 0 → the best is the threshold
    expect(stopsAtRung([1.0], [[1.0]], 1, o)).toBe(false); // a tie with the best goes on
    expect(stopsAtRung([3.0], [], 1, o)).toBe(false); // alone at the rung
    // The value at the rung counts, not the best before it; peers that have not reached the rung do not count.
    expect(stopsAtRung([0.1, 1.5, 1.6], [[1, 1, 1]], 3, o)).toBe(true);
    expect(stopsAtRung([1.5, 1.4, 1.3], [[1.0]], 3, o)).toBe(false);
    // With 6 at the rung, the best 3 go on (the threshold is the 3rd best).
    const five = [[1], [2], [3], [4], [5]];
    expect(stopsAtRung([2.5], five, 1, o)).toBe(false);
    expect(stopsAtRung([3.5], five, 1, o)).toBe(true);
    // A trial with no value yet goes on.
    expect(stopsAtRung([null], [[1.0], [2.0]], 1, o)).toBe(false);
  });
});

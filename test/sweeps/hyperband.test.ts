/**
 * Hyperband's rule (issue 16): rungs at minEpochs·eta^k below the last epoch; at a rung a trial stops when it is
 * not in the best 1/eta of the trials that reached it, so the best one at a rung never stops.
 */
import { describe, expect, it } from 'vitest';
import { bestUpTo, rungs, stopsAtRung } from '../../src-main/sweeps/hyperband';

describe('hyperband', () => {
  it('puts rungs at minEpochs·eta^k, below the last epoch', () => {
    expect(rungs(30, { eta: 3, minEpochs: 1 })).toEqual([1, 3, 9, 27]);
    expect(rungs(9, { eta: 3, minEpochs: 1 })).toEqual([1, 3]);
    expect(rungs(20, { eta: 2, minEpochs: 2 })).toEqual([2, 4, 8, 16]);
    expect(rungs(1, { eta: 3, minEpochs: 1 })).toEqual([]);
  });
  it('compares each trial by its best value up to the rung', () => {
    expect(bestUpTo([3, 1, 2, 0.5], 3)).toBe(1);
    expect(bestUpTo([null, 2], 2)).toBe(2);
    expect(bestUpTo([null], 1)).toBeNull();
  });
  it('stops a trial outside the best 1/eta at its rung, never the best', () => {
    const o = { eta: 3, minEpochs: 1 };
    const peers = [[1.0], [2.0]];
    expect(stopsAtRung([0.5], peers, 1, o)).toBe(false); // best of 3: kept
    expect(stopsAtRung([1.5], peers, 1, o)).toBe(true); // 2nd of 3: ceil(3/3) = 1 kept
    expect(stopsAtRung([3.0], [], 1, o)).toBe(false); // alone at the rung
    // Peers that have not reached the rung do not count.
    expect(stopsAtRung([1.5, 1.4, 1.3], [[1.0]], 3, o)).toBe(false);
    // With 6 at the rung, the best 2 go on.
    const six = [[1], [2], [3], [4], [5]];
    expect(stopsAtRung([1.5], six, 1, o)).toBe(false);
    expect(stopsAtRung([2.5], six, 1, o)).toBe(true);
    // A trial with no value yet goes on.
    expect(stopsAtRung([null], peers, 1, o)).toBe(false);
  });
});

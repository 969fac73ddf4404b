import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/mixup/rng';
import { betaCdf, ksCritical001, ksStatistic } from './stats';

describe('seeded generator (xoshiro128**)', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 50 }, () => a.uint32());
    const sb = Array.from({ length: 50 }, () => b.uint32());
    const sc = Array.from({ length: 50 }, () => c.uint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(new Rng('run-7').next()).toBe(new Rng('run-7').next());
  });

  it('restores a saved state (through JSON) and continues the identical stream, spare normal included', () => {
    const r = new Rng(9);
    for (let i = 0; i < 17; i++) r.beta(0.4, 0.4);
    r.normal(); // leaves a spare normal in the state
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const expected = [r.normal(), r.next(), r.int(1000), r.gamma(0.3), r.beta(0.2, 0.2)];
    const restored = new Rng(0);
    restored.setState(saved);
    expect([restored.normal(), restored.next(), restored.int(1000), restored.gamma(0.3), restored.beta(0.2, 0.2)]).toEqual(expected);
    expect(() => restored.setState({ s: [0, 0, 0, 0], origin: [1, 2, 3, 4], spare: null })).toThrow(/not a valid/);
  });

  it('forks independent streams from the seed without advancing the parent', () => {
    const parent = new Rng(5);
    const before = parent.getState();
    const f1 = parent.fork('mixup');
    expect(parent.getState()).toEqual(before);
    for (let i = 0; i < 10; i++) parent.next();
    const f2 = parent.fork('mixup');
    const other = parent.fork('shuffle');
    const s1 = Array.from({ length: 20 }, () => f1.uint32());
    expect(Array.from({ length: 20 }, () => f2.uint32())).toEqual(s1);
    expect(Array.from({ length: 20 }, () => other.uint32())).not.toEqual(s1);
    // A fork of a restored generator is the same fork.
    const restored = new Rng(0);
    restored.setState(parent.getState());
    expect(restored.fork('mixup').uint32()).toBe(new Rng(5).fork('mixup').uint32());
  });

  it('draws next() in [0, 1) and int(n) uniformly (chi-square over 10 bins)', () => {
    const r = new Rng(1);
    const bins = new Array(10).fill(0);
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      bins[r.int(10)] += 1;
    }
    const expected = n / 10;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88); // χ²(9) at p = 0.001
    expect(() => r.int(0)).toThrow();
  });

  it('draws Gamma(k) with the right mean and variance, for k < 1 (boost) and k ≥ 1', () => {
    const r = new Rng(2);
    for (const k of [0.1, 0.5, 1, 3.5]) {
      const n = 40_000;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const g = r.gamma(k);
        expect(g).toBeGreaterThanOrEqual(0);
        s += g;
        s2 += g * g;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      expect(Math.abs(mean - k)).toBeLessThan(5 * Math.sqrt(k / n));
      expect(Math.abs(variance - k) / k).toBeLessThan(0.12);
    }
  });

  it('draws Beta(a, b) that fits the Beta CDF (Kolmogorov–Smirnov, fixed seed), tiny α included', () => {
    const r = new Rng(3);
    for (const [a, b] of [
      [0.2, 0.2],
      [1, 1],
      [0.4, 0.4],
      [2, 5],
      [0.1, 0.1],
    ]) {
      const n = 4000;
      const sample = Array.from({ length: n }, () => r.beta(a, b));
      for (const v of sample) expect(v >= 0 && v <= 1).toBe(true);
      const d = ksStatistic(sample, (x) => betaCdf(x, a, b));
      expect(d, `Beta(${a}, ${b}) KS D`).toBeLessThan(ksCritical001(n));
    }
  });

  it('draws Beta(0.02, 0.02) without NaN, with the right share of mass in the middle', () => {
    const r = new Rng(6);
    const n = 20_000;
    let middle = 0;
    for (let i = 0; i < n; i++) {
      const v = r.beta(0.02, 0.02);
      expect(Number.isNaN(v)).toBe(false);
      if (v > 0.01 && v < 0.99) middle += 1;
    }
    const expected = betaCdf(0.99, 0.02, 0.02) - betaCdf(0.01, 0.02, 0.02);
    expect(Math.abs(middle / n - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / n) + 1e-3);
  });

  it('the KS check can fail: Beta(0.2, 0.2) draws do not fit Beta(1, 1)', () => {
    const r = new Rng(4);
    const sample = Array.from({ length: 4000 }, () => r.beta(0.2, 0.2));
    expect(ksStatistic(sample, (x) => betaCdf(x, 1, 1))).toBeGreaterThan(ksCritical001(4000));
  });

  it('shuffles to a permutation, reproducibly', () => {
    const a = new Rng(8).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
    const b = new Rng(8).shuffle(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a)).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

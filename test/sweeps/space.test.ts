/**
 * The search space (issue 16): `--param` parses as a user writes it, a grid covers exactly the product of its
 * lists, random draws are the seed's, a point lands in the config at its dotted key.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src-main/mixup/rng';
import { applyPoint, checkSpace, gridPoints, parseParam, pointKey, randomPoint } from '../../src-main/sweeps/space';

describe('--param parsing', () => {
  it('reads lists as JSON where they parse, as text otherwise, and keeps brackets whole', () => {
    expect(parseParam('mixup.alpha=0.1,0.2,0.4')).toEqual({ key: 'mixup.alpha', kind: 'values', values: [0.1, 0.2, 0.4] });
    expect(parseParam('mixup.offEpoch=null,8')).toEqual({ key: 'mixup.offEpoch', kind: 'values', values: [null, 8] });
    expect(parseParam('mixup.mode=batch,"elem"')).toEqual({ key: 'mixup.mode', kind: 'values', values: ['batch', 'elem'] });
    expect(parseParam('mixup.manifold=null,[0, 1],[2]')).toEqual({ key: 'mixup.manifold', kind: 'values', values: [null, [0, 1], [2]] });
  });
  it('reads ranges: linear, log, int', () => {
    expect(parseParam('mixup.alpha=0.1..2')).toEqual({ key: 'mixup.alpha', kind: 'range', scale: 'linear', min: 0.1, max: 2 });
    expect(parseParam('optimizer.lr=log:0.0001..0.1')).toMatchObject({ scale: 'log', min: 0.0001, max: 0.1 });
    expect(parseParam('mixup.offEpoch=int:2..8')).toMatchObject({ scale: 'int', min: 2, max: 8 });
  });
  it('refuses what it cannot read, naming the argument', () => {
    expect(() => parseParam('alpha')).toThrow(/--param 'alpha': write KEY=V1,V2/);
    expect(() => parseParam('mixup alpha=1')).toThrow(/not a dotted run-config key/);
    expect(() => parseParam('mixup.alpha=')).toThrow(/give at least one value/);
    expect(() => parseParam('mixup.alpha=0.1,,0.2')).toThrow(/value 2 is empty/);
    expect(() => parseParam('mixup.alpha=0.2,0.2')).toThrow(/0.2 is listed twice/);
    expect(() => parseParam('mixup.alpha=1..0.5')).toThrow(/range 1..0.5 is empty/);
    expect(() => parseParam('optimizer.lr=log:0..1')).toThrow(/log range needs LO > 0/);
    expect(() => parseParam('mixup.offEpoch=int:1.5..3')).toThrow(/int range needs whole ends/);
    expect(() => checkSpace([parseParam('mixup.alpha=1,2'), parseParam('mixup.alpha=3')])).toThrow(/mixup.alpha: given twice/);
    expect(() => checkSpace([parseParam('mixup={"alpha":1}'), parseParam('mixup.alpha=3')])).toThrow(/inside --param mixup/);
  });
});

describe('grid and random points', () => {
  it('a grid is exactly the product of its lists, each point once', () => {
    const space = [parseParam('a.x=1,2,3'), parseParam('b=p,q'), parseParam('c.d.e=null,true')];
    const pts = gridPoints(space);
    expect(pts).toHaveLength(12);
    expect(new Set(pts.map(pointKey)).size).toBe(12);
    for (const x of [1, 2, 3]) for (const b of ['p', 'q']) for (const e of [null, true]) expect(pts.map(pointKey)).toContain(pointKey({ 'a.x': x, b, 'c.d.e': e }));
    expect(() => gridPoints([parseParam('a=0..1')])).toThrow(/a grid needs a list of values/);
  });
  it('random points are the seed’s, within their ranges', () => {
    const space = [parseParam('mixup.alpha=0.1..2'), parseParam('optimizer.lr=log:0.0001..0.1'), parseParam('mixup.offEpoch=int:2..4'), parseParam('mixup.mode=batch,elem')];
    const draw = (seed: number) => Array.from({ length: 50 }, (_, i) => randomPoint(space, createRng(seed).fork(`t${i}`)));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const p of draw(7)) {
      expect(p['mixup.alpha']).toBeGreaterThanOrEqual(0.1);
      expect(p['mixup.alpha']).toBeLessThan(2);
      expect(p['optimizer.lr']).toBeGreaterThanOrEqual(0.0001);
      expect(p['optimizer.lr']).toBeLessThan(0.1);
      expect([2, 3, 4]).toContain(p['mixup.offEpoch']);
      expect(['batch', 'elem']).toContain(p['mixup.mode']);
    }
    // The log range spreads over its decades (a linear draw would put ~90 % above 0.01).
    expect(draw(7).filter((p) => (p['optimizer.lr'] as number) < 0.01).length).toBeGreaterThan(20);
  });
  it('a point lands at its dotted keys, leaving the base config as it was', () => {
    const base = { seed: 1, mixup: { alpha: 0.2, mode: 'batch' } };
    const c = applyPoint(base, { 'mixup.alpha': 0.4, 'optimizer.lr': 0.01 });
    expect(c).toEqual({ seed: 1, mixup: { alpha: 0.4, mode: 'batch' }, optimizer: { lr: 0.01 } });
    expect(base.mixup.alpha).toBe(0.2);
    expect(() => applyPoint({ mixup: 3 }, { 'mixup.alpha': 1 })).toThrow(/'mixup' is 3 in the base config/);
  });
});

/**
 * The seeded random generator every random draw in MixUp Studio comes from.
 *
 * xoshiro128** (Blackman & Vigna) on four uint32 words, seeded through splitmix32, in pure TypeScript with
 * 32-bit integer math (`Math.imul`, `>>> 0`). Its whole state is four numbers (plus the spare normal), so it
 * serialises to JSON for checkpoints: `setState(getState())` continues the identical stream.
 *
 * `fork(label)` derives an independent stream from the generator's *origin* (its seed) and a label, without
 * consuming draws from the parent: `rng.fork('mixup')` is the same stream however far the parent has run.
 */

export interface RngState {
  /** The four xoshiro128** state words. */
  s: [number, number, number, number];
  /** The origin words the generator was seeded with (forks derive from these). */
  origin: [number, number, number, number];
  /** The cached second value of the last polar Box–Muller draw, or null. */
  spare: number | null;
}

const TWO_POW_32 = 4294967296;

/** FNV-1a over the UTF-16 code units of a string, then one splitmix32 finalisation. */
function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return mix32(h);
}

/** The splitmix32 output function: a bijective avalanche of one uint32. */
function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Expands one uint32 into four state words with splitmix32 (never all zero). */
function expandSeed(seed: number): [number, number, number, number] {
  let x = seed >>> 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    words.push(mix32(x));
  }
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
  return words as [number, number, number, number];
}

function seedWord(seed: number | string): number {
  if (typeof seed === 'string') return hashString(seed);
  if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`);
  // Fold integers beyond 32 bits in, so 2**32 + 1 and 1 differ.
  const lo = seed >>> 0;
  const hi = Math.floor(Math.abs(seed) / TWO_POW_32) >>> 0;
  return hi === 0 && seed >= 0 ? lo : mix32(lo ^ mix32(hi ^ (seed < 0 ? 0x5bd1e995 : 0)));
}

function isWord(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_POW_32;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private readonly origin: [number, number, number, number];
  private spare: number | null = null;

  constructor(seed: number | string | RngState = 0) {
    if (typeof seed === 'object') {
      this.origin = [0, 0, 0, 0];
      this.s0 = this.s1 = this.s2 = this.s3 = 0;
      this.setState(seed);
      return;
    }
    const words = expandSeed(seedWord(seed));
    this.origin = [...words];
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  /** The next raw uint32 (xoshiro128**). */
  uint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    let n2 = (s2 ^ s0) >>> 0;
    let n3 = (s3 ^ s1) >>> 0;
    const n1 = (s1 ^ n2) >>> 0;
    const n0 = (s0 ^ n3) >>> 0;
    n2 = (n2 ^ t) >>> 0;
    n3 = ((n3 << 11) | (n3 >>> 21)) >>> 0;
    this.s0 = n0;
    this.s1 = n1;
    this.s2 = n2;
    this.s3 = n3;
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling); n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    if (n === 1) return 0;
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.uint32();
      if (u < limit) return u % n;
    }
  }

  /** A uniform double in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** A standard normal draw (Marsaglia's polar method; the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /**
   * The natural log of a Gamma(k, 1) draw. Marsaglia–Tsang for k ≥ 1; for k < 1 the boost
   * Gamma(k) = Gamma(k + 1) · U^(1/k), done in log space so tiny k never underflows to 0.
   */
  logGamma(k: number): number {
    if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`gamma shape must be > 0, got ${k}`);
    if (k < 1) {
      let u = this.next();
      while (u === 0) u = this.next();
      return this.logGamma(k + 1) + Math.log(u) / k;
    }
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return Math.log(d * v);
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
    }
  }

  /** A Gamma(k, 1) draw (shape k > 0, scale 1). */
  gamma(k: number): number {
    return Math.exp(this.logGamma(k));
  }

  /** A Beta(a, b) draw as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), computed stably in log space. */
  beta(a: number, b: number): number {
    if (!(a > 0) || !(b > 0)) throw new RangeError(`beta parameters must be > 0, got (${a}, ${b})`);
    const lx = this.logGamma(a);
    const ly = this.logGamma(b);
    // x / (x + y) = 1 / (1 + exp(ly - lx))
    const d = ly - lx;
    if (d > 700) return 0;
    if (d < -700) return 1;
    return 1 / (1 + Math.exp(d));
  }

  /** Shuffles an array in place (Fisher–Yates) and returns it. */
  shuffle<T>(arr: T[]): T[];
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T;
  shuffle(arr: { length: number; [i: number]: unknown }) {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** An independent stream derived from this generator's seed and a label; does not advance this one. */
  fork(label: string): Rng {
    let h = hashString(label, this.origin[0] ^ 0x811c9dc5);
    for (let i = 1; i < 4; i++) h = mix32(h ^ this.origin[i] ^ Math.imul(i, 0x9e3779b9));
    return new Rng(h);
  }

  /** The full state as plain JSON (for checkpoints). */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], origin: [...this.origin], spare: this.spare };
  }

  /** Restores a state from `getState()`; the stream continues exactly where it was saved. */
  setState(state: RngState): void {
    const ok =
      state &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every(isWord) &&
      Array.isArray(state.origin) &&
      state.origin.length === 4 &&
      state.origin.every(isWord) &&
      (state.spare === null || state.spare === undefined || Number.isFinite(state.spare)) &&
      (state.s[0] | state.s[1] | state.s[2] | state.s[3]) !== 0;
    if (!ok) throw new RangeError('rng state is not a valid xoshiro128** state ({s: [4 uint32], origin: [4 uint32], spare})');
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    for (let i = 0; i < 4; i++) this.origin[i] = state.origin[i];
    this.spare = state.spare ?? null;
  }
}

/** A new generator from a seed (number or string). */
export function createRng(seed: number | string = 0): Rng {
  return new Rng(seed);
}
/**
 * The random streams of a training run, derived from its seed: `shuffle` (the epoch order, one
 * permutation per epoch in epoch order), `augment`, `mixup`, `init`. Preview and training use the same ones,
 * so a preview shows what the run will do.
 */
export function runStreams(seed: number): { shuffle: Rng; augment: Rng; mixup: Rng; init: Rng } {
  const root = new Rng(seed);
  return { shuffle: root.fork('shuffle'), augment: root.fork('augment'), mixup: root.fork('mixup'), init: root.fork('init') };
}

/**
 * The order of the training set in one epoch: a Fisher–Yates permutation of the store positions 0..n-1 drawn
 * from a run's `shuffle` stream (which it advances). A run draws one per epoch, in epoch order, from the same
 * stream (whose state its checkpoints keep), so the same seed gives the same orders, with or without a resume
 * in between; `mixup preview` draws them the same way.
 */
export function epochOrder(n: number, shuffle: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffle.shuffle(order);
  return order;
}

/**
 * The two dense products curation needs, run by onnxruntime (its MLAS GEMM: AVX2 and every core, ~27 GFLOP/s
 * on this 2-core machine against ~1 for a JS loop) in a tiny graph built here. The constant operand is the
 * graph's initializer, so it is copied into onnxruntime once, not per call; a run is asynchronous on
 * onnxruntime's own threads, so the event loop (serve, the app) stays free.
 *
 * - ConstMatMul: A (rows × cols, constant) times B (cols × p) → rows × p. The softmax regression's logits
 *   (X·W) and gradient (Xᵀ·G) are two of them.
 * - CosineIndex: the k largest inner products of query rows with the base rows (MatMul then TopK in the
 *   graph, so only k values per query come back): brute-force nearest neighbours on unit vectors, in blocks.
 */
import os from 'node:os';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { DataType, encodeModel, type OnnxGraph } from '../export/onnx/proto';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | undefined;
async function loadOrt(): Promise<Ort> {
  ort ??= await import('onnxruntime-node');
  return ort;
}

function threads(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

async function session(graph: OnnxGraph): Promise<{ s: InferenceSession; Tensor: typeof OrtTensor }> {
  const o = await loadOrt();
  const bytes = encodeModel({ irVersion: 8, opsetVersion: 17, producerName: 'mixup-studio', producerVersion: '0', graph });
  const s = await o.InferenceSession.create(bytes, { intraOpNumThreads: threads(), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  return { s, Tensor: o.Tensor };
}

/** Row-major transpose of an m × n matrix. */
export function transpose(a: Float32Array, m: number, n: number): Float32Array {
  const t = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) t[j * m + i] = a[row + j]!;
  }
  return t;
}

export class ConstMatMul {
  private constructor(
    private readonly s: InferenceSession,
    private readonly Tensor: typeof OrtTensor,
    readonly rows: number,
    readonly cols: number,
  ) {}

  static async create(a: Float32Array, rows: number, cols: number): Promise<ConstMatMul> {
    const { s, Tensor } = await session({
      name: 'const-matmul',
      nodes: [{ opType: 'MatMul', name: 'mm', inputs: ['A', 'B'], outputs: ['C'] }],
      initializers: [{ name: 'A', dims: [rows, cols], dataType: DataType.FLOAT, data: a }],
      inputs: [{ name: 'B', elemType: DataType.FLOAT, shape: [cols, 'p'] }],
      outputs: [{ name: 'C', elemType: DataType.FLOAT, shape: [rows, 'p'] }],
    });
    return new ConstMatMul(s, Tensor, rows, cols);
  }

  /** A · B for B of `cols` × p (row-major); the result is rows × p. */
  async times(b: Float32Array, p: number): Promise<Float32Array> {
    const out = await this.s.run({ B: new this.Tensor('float32', b, [this.cols, p]) });
    return out.C!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.s.release();
  }
}

export class CosineIndex {
  private constructor(
    private readonly s: InferenceSession,
    private readonly Tensor: typeof OrtTensor,
    readonly size: number,
    readonly dim: number,
    readonly k: number,
  ) {}

  /** An index over `n` unit rows of `dim` values; each query gets its `k` best (k is capped at n). */
  static async create(base: Float32Array, n: number, dim: number, k: number): Promise<CosineIndex> {
    const kk = Math.max(1, Math.min(k, n));
    const { s, Tensor } = await session({
      name: 'cosine-topk',
      nodes: [
        // Q · Bᵀ by Gemm's transB: the base is held once, as given (no transposed copy).
        { opType: 'Gemm', name: 'mm', inputs: ['Q', 'B'], outputs: ['S'], attributes: [{ name: 'transB', kind: 'int', value: 1 }] },
        { opType: 'TopK', name: 'topk', inputs: ['S', 'K'], outputs: ['V', 'I'], attributes: [{ name: 'axis', kind: 'int', value: -1 }] },
      ],
      initializers: [
        { name: 'B', dims: [n, dim], dataType: DataType.FLOAT, data: base },
        { name: 'K', dims: [1], dataType: DataType.INT64, data: BigInt64Array.from([BigInt(kk)]) },
      ],
      inputs: [{ name: 'Q', elemType: DataType.FLOAT, shape: ['q', dim] }],
      outputs: [
        { name: 'V', elemType: DataType.FLOAT, shape: ['q', kk] },
        { name: 'I', elemType: DataType.INT64, shape: ['q', kk] },
      ],
    });
    return new CosineIndex(s, Tensor, n, dim, kk);
  }

  /** The k best base rows of each of the `m` queries, best first: similarities and base row numbers (m × k). */
  async search(queries: Float32Array, m: number): Promise<{ values: Float32Array; indices: Int32Array }> {
    const out = await this.s.run({ Q: new this.Tensor('float32', queries, [m, this.dim]) });
    const big = out.I!.data as BigInt64Array;
    const indices = new Int32Array(big.length);
    for (let i = 0; i < big.length; i++) indices[i] = Number(big[i]);
    return { values: out.V!.data as Float32Array, indices };
  }

  async release(): Promise<void> {
    await this.s.release();
  }
}

/**
 * The softmax regression's data term and its gradient in one graph over a constant X (n × d, held once) and
 * one-hot Y (n × c): Z = X·W + b, L = log softmax(Z), G = exp(L) − Y; answers Σ Y⊙L (the negative summed
 * cross-entropy), Xᵀ·G (by Gemm's transA, no transposed copy) and the column sums of G.
 */
export class SoftmaxObjective {
  private constructor(
    private readonly s: InferenceSession,
    private readonly Tensor: typeof OrtTensor,
    readonly d: number,
    readonly c: number,
  ) {}

  static async create(x: Float32Array, n: number, d: number, y: ArrayLike<number>, c: number): Promise<SoftmaxObjective> {
    const onehot = new Float32Array(n * c);
    for (let i = 0; i < n; i++) onehot[i * c + y[i]!] = 1;
    const { s, Tensor } = await session({
      name: 'softmax-objective',
      nodes: [
        { opType: 'Gemm', name: 'logits', inputs: ['X', 'W', 'b'], outputs: ['Z'] },
        { opType: 'LogSoftmax', name: 'logsoftmax', inputs: ['Z'], outputs: ['L'], attributes: [{ name: 'axis', kind: 'int', value: 1 }] },
        { opType: 'Exp', name: 'probs', inputs: ['L'], outputs: ['P'] },
        { opType: 'Sub', name: 'residual', inputs: ['P', 'Y'], outputs: ['G'] },
        { opType: 'Gemm', name: 'grad_w', inputs: ['X', 'G'], outputs: ['GW'], attributes: [{ name: 'transA', kind: 'int', value: 1 }] },
        { opType: 'ReduceSum', name: 'grad_b', inputs: ['G', 'axis0'], outputs: ['GB'], attributes: [{ name: 'keepdims', kind: 'int', value: 0 }] },
        { opType: 'Mul', name: 'picked', inputs: ['Y', 'L'], outputs: ['YL'] },
        { opType: 'ReduceSum', name: 'loglik', inputs: ['YL'], outputs: ['LL'], attributes: [{ name: 'keepdims', kind: 'int', value: 0 }] },
      ],
      initializers: [
        { name: 'X', dims: [n, d], dataType: DataType.FLOAT, data: x },
        { name: 'Y', dims: [n, c], dataType: DataType.FLOAT, data: onehot },
        { name: 'axis0', dims: [1], dataType: DataType.INT64, data: BigInt64Array.from([0n]) },
      ],
      inputs: [
        { name: 'W', elemType: DataType.FLOAT, shape: [d, c] },
        { name: 'b', elemType: DataType.FLOAT, shape: [c] },
      ],
      outputs: [
        { name: 'LL', elemType: DataType.FLOAT, shape: [] },
        { name: 'GW', elemType: DataType.FLOAT, shape: [d, c] },
        { name: 'GB', elemType: DataType.FLOAT, shape: [c] },
      ],
    });
    return new SoftmaxObjective(s, Tensor, d, c);
  }

  async evaluate(w: Float32Array, b: Float32Array): Promise<{ loglik: number; gw: Float32Array; gb: Float32Array }> {
    const out = await this.s.run({ W: new this.Tensor('float32', w, [this.d, this.c]), b: new this.Tensor('float32', b, [this.c]) });
    return { loglik: (out.LL!.data as Float32Array)[0]!, gw: out.GW!.data as Float32Array, gb: out.GB!.data as Float32Array };
  }

  async release(): Promise<void> {
    await this.s.release();
  }
}

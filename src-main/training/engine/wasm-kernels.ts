/**
 * Training kernels for `@tensorflow/tfjs-backend-wasm`.
 *
 * As shipped, the wasm backend cannot train a CNN: it has no Conv2DBackpropFilter and no depthwise backprop
 * kernels, and several of the gradient kernels it does have are slow scalar loops (Conv2DBackpropInput,
 * MaxPoolGrad, and BatchMatMul with a transposed operand, which every dense layer's gradient uses).
 *
 * Every kernel here works on the wasm heap directly and hands the arithmetic-heavy part to the backend's own
 * XNNPACK kernels (Conv2D, and the `BatchMatMul` fast path: batch 1, no transposes), which run on the
 * backend's thread pool:
 * - Conv2DBackpropFilter: a convolution of the transposed input with the transposed output gradient (or,
 *   for few taps·channels, dyᵀ · im2col(x) on the matmul)
 * - Conv2DBackpropInput:  stride 1: a convolution of dy with the rotated filter; strided: cols[M, K] =
 *   dy[M, Cout] · Wᵀ[Cout, K] on XNNPACK (K = kh·kw·Cin, M = N·outH·outW), then col2im into dx
 * - BatchMatMul with transposeA/transposeB: transpose the operand on the heap, then the fast path
 * - MaxPoolGrad: one pass that routes each dy to the first position equal to the window's maximum (the
 *   forward output), i.e. the cpu backend's first-max rule
 * - DepthwiseConv2dNativeBackpropFilter / …Input: direct loops (the work per output is a short dot product)
 * - Sum / Mean over leading axes (bias gradients, BatchNorm statistics): column sums instead of
 *   transpose-then-reduce
 * - Tile (BatchNorm's gradient): block copies instead of a per-element index loop
 * - Identity, and Cast to the same dtype: share the data instead of copying it (Cast to bool: x ≠ 0)
 *
 * All loops run in a fixed order, so the same inputs always give bit-identical outputs.
 */
import { createRequire } from 'node:module';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

// '@tensorflow/tfjs' (a direct dependency, left external by the bundler, re-exporting tfjs-core) rather than
// '@tensorflow/tfjs-core', which a bundle would otherwise inline as a second copy.
const tfc = createRequire(typeof __filename === 'string' ? __filename : import.meta.url)('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');

const { backend_util } = tfc;

/** The parts of the wasm backend (`BackendWasm`) these kernels use. */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Args = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: NamedAttrMap };

/** A Float32 view of a tensor on the wasm heap. Take it after the last allocation: heap growth detaches views. */
function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const info = backend.dataIdMap.get(t.dataId);
  if (!info) throw new Error('wasm kernel: tensor data is not on the wasm backend');
  const size = t.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(backend.wasm.HEAPU8.buffer, info.memoryOffset, size);
}

function alloc(backend: WasmBackendLike, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

function requireFloat(name: string, ...ts: TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new Error(`${name} on wasm supports float32 tensors only (got ${t.dtype})`);
  }
}

function requireNHWC(name: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${name} on wasm supports dataFormat NHWC only (got ${String(dataFormat)})`);
  }
}

/** The stock kernels ours fall back to (captured once, before we register over them). */
const originalKernels: Record<string, KernelConfig> = {};
let originalBatchMatMul: KernelConfig | undefined;

/** C[rows, cols] = A[rows, inner] · B[inner, cols] on XNNPACK (the backend's untransposed, batch-1 path). */
function fastMatMul(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo): TensorInfo {
  const kernel = originalBatchMatMul ?? tfc.getKernel('BatchMatMul', 'wasm');
  if (!kernel) throw new Error('wasm backend has no BatchMatMul kernel');
  const a3 = { dataId: a.dataId, shape: [1, a.shape[0]!, a.shape[1]!], dtype: a.dtype } as TensorInfo;
  const b3 = { dataId: b.dataId, shape: [1, b.shape[0]!, b.shape[1]!], dtype: b.dtype } as TensorInfo;
  // The wasm Reshape used inside BatchMatMul shares data and bumps the refcount; it releases it itself.
  const out = kernel.kernelFunc({
    inputs: { a: a3, b: b3 },
    backend: backend as never,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  return { dataId: out.dataId, shape: [a.shape[0]!, b.shape[1]!], dtype: 'float32' } as TensorInfo;
}

/** Transposes a [rows, cols] float matrix on the heap into a new [cols, rows] tensor. */
function transpose2d(backend: WasmBackendLike, src: Float32Array | TensorInfo, rows: number, cols: number): TensorInfo {
  const out = alloc(backend, [cols, rows]);
  const s = src instanceof Float32Array ? src : f32(backend, src);
  const d = f32(backend, out);
  // Blocked, so both sides stay in cache.
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const so = r * cols;
        for (let c = c0; c < c1; c++) d[c * rows + r] = s[so + c]!;
      }
    }
  }
  return out;
}

interface ConvGeom {
  n: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
}

function geom(ci: ReturnType<typeof backend_util.computeConv2DInfo>): ConvGeom {
  return {
    n: ci.batchSize,
    inH: ci.inHeight,
    inW: ci.inWidth,
    cin: ci.inChannels,
    outH: ci.outHeight,
    outW: ci.outWidth,
    cout: ci.outChannels,
    kh: ci.filterHeight,
    kw: ci.filterWidth,
    sh: ci.strideHeight,
    sw: ci.strideWidth,
    dh: ci.dilationHeight,
    dw: ci.dilationWidth,
    pt: ci.padInfo.top,
    pl: ci.padInfo.left,
  };
}

/** cols[m, (fy, fx, c)] = x[b, oy·s + fy·d − pt, ox·s + fx·d − pl, c], zero in the padding (im2col). */
function im2col(g: ConvGeom, x: Float32Array, cols: Float32Array): void {
  const { cin } = g;
  const K = g.kh * g.kw * cin;
  let m = 0;
  for (let b = 0; b < g.n; b++) {
    const xb = b * g.inH * g.inW * cin;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++, m++) {
        const co = m * K;
        for (let fy = 0; fy < g.kh; fy++) {
          const iy = oy * g.sh + fy * g.dh - g.pt;
          for (let fx = 0; fx < g.kw; fx++) {
            const ix = ox * g.sw + fx * g.dw - g.pl;
            const ko = co + (fy * g.kw + fx) * cin;
            if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) {
              for (let c = 0; c < cin; c++) cols[ko + c] = 0;
            } else {
              const xo = xb + (iy * g.inW + ix) * cin;
              for (let c = 0; c < cin; c++) cols[ko + c] = x[xo + c]!;
            }
          }
        }
      }
    }
  }
}

/** dx[b, iy, ix, c] += cols[m, (fy, fx, c)] for every window position inside the image (col2im). */
function col2imAdd(g: ConvGeom, cols: Float32Array, dx: Float32Array): void {
  dx.fill(0);
  const { cin } = g;
  const K = g.kh * g.kw * cin;
  let m = 0;
  for (let b = 0; b < g.n; b++) {
    const xb = b * g.inH * g.inW * cin;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++, m++) {
        const co = m * K;
        for (let fy = 0; fy < g.kh; fy++) {
          const iy = oy * g.sh + fy * g.dh - g.pt;
          if (iy < 0 || iy >= g.inH) continue;
          for (let fx = 0; fx < g.kw; fx++) {
            const ix = ox * g.sw + fx * g.dw - g.pl;
            if (ix < 0 || ix >= g.inW) continue;
            const xo = xb + (iy * g.inW + ix) * cin;
            const ko = co + (fy * g.kw + fx) * cin;
            for (let c = 0; c < cin; c++) dx[xo + c]! += cols[ko + c]!;
          }
        }
      }
    }
  }
}

/** Runs the backend's own Conv2D (XNNPACK, on its thread pool) with explicit padding. */
function xnnConv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, stride: [number, number], dilation: [number, number], pads: [number, number, number, number]): TensorInfo {
  const kernel = tfc.getKernel('Conv2D', 'wasm');
  if (!kernel) throw new Error('wasm backend has no Conv2D kernel');
  const [t, b, l, r] = pads;
  return kernel.kernelFunc({
    inputs: { x, filter },
    backend: backend as never,
    attrs: { strides: stride, dilations: dilation, pad: [[0, 0], [t, b], [l, r], [0, 0]], dataFormat: 'NHWC', dimRoundingMode: undefined } as never,
  }) as TensorInfo;
}

/**
 * dW[fy, fx, ci, co] = Σ_{b, oy, ox} x[b, oy·s + fy·d − pt, ox·s + fx·d − pl, ci] · dy[b, oy, ox, co]
 * is itself a convolution: input x' = x as [Cin, H, W, N] (Cin plays the batch, N the channels), filter
 * dy' = dy as [outH, outW, N, Cout], stride d, dilation s, the forward padding. Output [Cin, kh, kw, Cout].
 */
function conv2DBackpropFilter(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  requireFloat('Conv2DBackpropFilter', x, dy);
  requireNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const ci = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
  );
  const g = geom(ci);
  const M = g.n * g.outH * g.outW;
  const K = g.kh * g.kw * g.cin;
  if (K <= 32) {
    // Few taps·channels (a first layer): dWᵀ[Cout, K] = dyᵀ[Cout, M] · im2col(x)[M, K] on XNNPACK's matmul,
    // which packs only the small im2col side (the convolution below would repack all of dy).
    const dyT = transpose2d(backend, dy, M, g.cout);
    const cols = alloc(backend, [M, K]);
    im2col(g, f32(backend, x), f32(backend, cols));
    const dwT = fastMatMul(backend, dyT, cols);
    backend.disposeData(dyT.dataId);
    backend.disposeData(cols.dataId);
    const dw = transpose2d(backend, dwT, g.cout, K);
    backend.disposeData(dwT.dataId);
    return { dataId: dw.dataId, shape: [...filterShape], dtype: 'float32' } as TensorInfo;
  }
  // Rows/columns the forward pass never read (valid padding with a stride that leaves a remainder) are cut off.
  const needH = (g.kh - 1) * g.dh + (g.outH - 1) * g.sh + 1 - g.pt;
  const needW = (g.kw - 1) * g.dw + (g.outW - 1) * g.sw + 1 - g.pl;
  const H = Math.min(g.inH, needH);
  const W = Math.min(g.inW, needW);
  const pb = needH - H;
  const pr = needW - W;
  // x' [Cin, H, W, N]
  const xT = alloc(backend, [g.cin, H, W, g.n]);
  {
    const src = f32(backend, x);
    const dst = f32(backend, xT);
    const { n, cin } = g;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          const so = ((b * g.inH + y) * g.inW + xx) * cin;
          const dob = (y * W + xx) * n + b;
          for (let c = 0; c < cin; c++) dst[c * H * W * n + dob] = src[so + c]!;
        }
      }
    }
  }
  // dy' [outH, outW, N, Cout]
  const dyT = alloc(backend, [g.outH, g.outW, g.n, g.cout]);
  {
    const src = f32(backend, dy);
    const dst = f32(backend, dyT);
    const row = g.cout;
    for (let b = 0; b < g.n; b++) {
      for (let p = 0; p < g.outH * g.outW; p++) {
        const so = (b * g.outH * g.outW + p) * row;
        dst.set(src.subarray(so, so + row), (p * g.n + b) * row);
      }
    }
  }
  const out = xnnConv(backend, xT, dyT, [g.dh, g.dw], [g.sh, g.sw], [g.pt, pb, g.pl, pr]);
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);
  // [Cin, kh, kw, Cout] → [kh, kw, Cin, Cout]
  const dw = alloc(backend, [...filterShape]);
  {
    const src = f32(backend, out);
    const dst = f32(backend, dw);
    const row = g.cout;
    const taps = g.kh * g.kw;
    for (let c = 0; c < g.cin; c++) {
      for (let t = 0; t < taps; t++) {
        const so = (c * taps + t) * row;
        dst.set(src.subarray(so, so + row), (t * g.cin + c) * row);
      }
    }
  }
  backend.disposeData(out.dataId);
  return dw;
}

function conv2DBackpropInput(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  requireFloat('Conv2DBackpropInput', dy, filter);
  requireNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const ci = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
  );
  const g = geom(ci);
  const effH = (g.kh - 1) * g.dh + 1;
  const effW = (g.kw - 1) * g.dw + 1;
  const padB = effH - 1 - (ci.padInfo.bottom ?? 0);
  const padR = effW - 1 - (ci.padInfo.right ?? 0);
  // XNNPACK tiles output channels by 8 or more, so a transposed conv with few input channels (a first layer)
  // wastes most of its work there: those take the matmul + col2im path below.
  if (g.cin >= 8 && g.sh === 1 && g.sw === 1 && effH - 1 - g.pt >= 0 && effW - 1 - g.pl >= 0 && padB >= 0 && padR >= 0) {
    // Stride 1: dx is the convolution of dy with the filter turned 180° and in/out swapped, fully padded.
    const wf = alloc(backend, [g.kh, g.kw, g.cout, g.cin]);
    const src = f32(backend, filter);
    const dst = f32(backend, wf);
    for (let fy = 0; fy < g.kh; fy++) {
      for (let fx = 0; fx < g.kw; fx++) {
        const so = ((g.kh - 1 - fy) * g.kw + (g.kw - 1 - fx)) * g.cin * g.cout;
        const dob = (fy * g.kw + fx) * g.cout * g.cin;
        for (let c = 0; c < g.cin; c++) {
          for (let o = 0; o < g.cout; o++) dst[dob + o * g.cin + c] = src[so + c * g.cout + o]!;
        }
      }
    }
    const dx = xnnConv(backend, dy, wf, [1, 1], [g.dh, g.dw], [effH - 1 - g.pt, padB, effW - 1 - g.pl, padR]);
    backend.disposeData(wf.dataId);
    return { dataId: dx.dataId, shape: [...inputShape], dtype: 'float32' } as TensorInfo;
  }
  const M = g.n * g.outH * g.outW;
  const K = g.kh * g.kw * g.cin;
  // Strided: cols = dy · Wᵀ on XNNPACK, then col2im. W viewed as [K, Cout]; the fast path wants Wᵀ[Cout, K].
  const wT = transpose2d(backend, filter, K, g.cout);
  const dy2 = { dataId: dy.dataId, shape: [M, g.cout], dtype: 'float32' } as TensorInfo;
  const cols = fastMatMul(backend, dy2, wT);
  backend.disposeData(wT.dataId);
  const dx = alloc(backend, [...inputShape]);
  col2imAdd(g, f32(backend, cols), f32(backend, dx));
  backend.disposeData(cols.dataId);
  return dx;
}

function maxPoolGrad(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const dy = inputs.dy!;
  const x = inputs.input!;
  requireFloat('MaxPoolGrad', dy, x);
  const ci = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const n = ci.batchSize;
  const inH = ci.inHeight;
  const inW = ci.inWidth;
  const C = ci.inChannels;
  const outH = ci.outHeight;
  const outW = ci.outWidth;
  const fh = ci.effectiveFilterHeight;
  const fw = ci.effectiveFilterWidth;
  const sh = ci.strideHeight;
  const sw = ci.strideWidth;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  const dxT = alloc(backend, [...x.shape]);
  const xv = f32(backend, x);
  const yv = f32(backend, inputs.output!);
  const dyv = f32(backend, dy);
  const dx = f32(backend, dxT);
  dx.fill(0);
  // One window at a time, channel by channel: positions in row-major order; a strictly greater value moves
  // the argmax, so the first maximum wins (the cpu backend's rule, which matters for ReLU zeros).
  for (let b = 0; b < n; b++) {
    const xb = b * inH * inW * C;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - pt;
      const yMin = Math.max(0, y0);
      const yMax = Math.min(inH, y0 + fh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - pl;
        const xMin = Math.max(0, x0);
        const xMax = Math.min(inW, x0 + fw);
        const dyo = ((b * outH + oy) * outW + ox) * C;
        if (yMin >= yMax || xMin >= xMax) continue;
        const two = yMax - yMin === 2 && xMax - xMin === 2;
        const o0 = xb + (yMin * inW + xMin) * C;
        const o2 = o0 + inW * C;
        for (let c = 0; c < C; c++) {
          // The forward output holds each window's maximum: the first position (row-major) equal to it is
          // the cpu backend's argmax. Only when there is none (NaNs, -Infinity) does the full scan run.
          const m = yv[dyo + c]!;
          let at = -1;
          if (m > Number.NEGATIVE_INFINITY) {
            if (two) {
              const a0 = o0 + c;
              const a2 = o2 + c;
              at = xv[a0] === m ? a0 : xv[a0 + C] === m ? a0 + C : xv[a2] === m ? a2 : xv[a2 + C] === m ? a2 + C : -1;
            } else {
              for (let iy = yMin; iy < yMax && at < 0; iy++) {
                let o = xb + (iy * inW + xMin) * C + c;
                for (let ix = xMin; ix < xMax; ix++, o += C) {
                  if (xv[o] === m) {
                    at = o;
                    break;
                  }
                }
              }
            }
          }
          if (at < 0) {
            let best = Number.NEGATIVE_INFINITY;
            for (let iy = yMin; iy < yMax; iy++) {
              let o = xb + (iy * inW + xMin) * C + c;
              for (let ix = xMin; ix < xMax; ix++, o += C) {
                const v = xv[o]!;
                if (v > best) {
                  best = v;
                  at = o;
                }
              }
            }
          }
          // A window of NaNs / -Infinity has no maximum on the cpu backend either.
          if (at >= 0) dx[at]! += dyv[dyo + c]!;
        }
      }
    }
  }
  return dxT;
}

function depthwiseGeom(
  xShape: number[],
  filterShape: number[],
  attrs: NamedAttrMap,
): ReturnType<typeof backend_util.computeConv2DInfo> {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations ?? 1) as number | [number, number],
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
}

function depthwiseBackpropFilter(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  requireFloat('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const filterShape = attrs.filterShape as number[];
  const ci = depthwiseGeom(x.shape, filterShape, attrs);
  const g = geom(ci);
  const mult = ci.outChannels / ci.inChannels;
  const C = g.cin;
  const CM = C * mult;
  // Accumulate in doubles (as the cpu backend does), then store float32.
  const acc = new Float64Array(g.kh * g.kw * CM);
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  for (let b = 0; b < g.n; b++) {
    const xb = b * g.inH * g.inW * C;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const dyo = ((b * g.outH + oy) * g.outW + ox) * CM;
        for (let fy = 0; fy < g.kh; fy++) {
          const iy = oy * g.sh + fy * g.dh - g.pt;
          if (iy < 0 || iy >= g.inH) continue;
          for (let fx = 0; fx < g.kw; fx++) {
            const ix = ox * g.sw + fx * g.dw - g.pl;
            if (ix < 0 || ix >= g.inW) continue;
            const xo = xb + (iy * g.inW + ix) * C;
            const ao = (fy * g.kw + fx) * CM;
            if (mult === 1) {
              for (let c = 0; c < C; c++) acc[ao + c]! += xv[xo + c]! * dyv[dyo + c]!;
            } else {
              for (let c = 0; c < C; c++) {
                const xval = xv[xo + c]!;
                const base = c * mult;
                for (let q = 0; q < mult; q++) acc[ao + base + q]! += xval * dyv[dyo + base + q]!;
              }
            }
          }
        }
      }
    }
  }
  const out = alloc(backend, [...filterShape]);
  f32(backend, out).set(acc);
  return out;
}

function depthwiseBackpropInput(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  requireFloat('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const inputShape = attrs.inputShape as number[];
  const ci = depthwiseGeom(inputShape, filter.shape, attrs);
  const g = geom(ci);
  const mult = ci.outChannels / ci.inChannels;
  const C = g.cin;
  const CM = C * mult;
  const dxT = alloc(backend, [...inputShape]);
  const wv = f32(backend, filter);
  const dyv = f32(backend, dy);
  const dx = f32(backend, dxT);
  dx.fill(0);
  for (let b = 0; b < g.n; b++) {
    const xb = b * g.inH * g.inW * C;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const dyo = ((b * g.outH + oy) * g.outW + ox) * CM;
        for (let fy = 0; fy < g.kh; fy++) {
          const iy = oy * g.sh + fy * g.dh - g.pt;
          if (iy < 0 || iy >= g.inH) continue;
          for (let fx = 0; fx < g.kw; fx++) {
            const ix = ox * g.sw + fx * g.dw - g.pl;
            if (ix < 0 || ix >= g.inW) continue;
            const xo = xb + (iy * g.inW + ix) * C;
            const wo = (fy * g.kw + fx) * CM;
            if (mult === 1) {
              for (let c = 0; c < C; c++) dx[xo + c]! += wv[wo + c]! * dyv[dyo + c]!;
            } else {
              for (let c = 0; c < C; c++) {
                const base = c * mult;
                let s = 0;
                for (let q = 0; q < mult; q++) s += wv[wo + base + q]! * dyv[dyo + base + q]!;
                dx[xo + c]! += s;
              }
            }
          }
        }
      }
    }
  }
  return dxT;
}

/**
 * BatchMatMul: when an operand is transposed (every dense layer's gradient), the stock kernel falls back to a
 * scalar triple loop; transpose on the heap and take the XNNPACK path instead. Batched products keep the
 * stock kernel.
 */
function batchMatMul(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const orig = originalBatchMatMul!;
  const batchA = a.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  const batchB = b.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  if ((!transposeA && !transposeB) || batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return orig.kernelFunc(args as never) as TensorInfo;
  }
  const ar = a.shape[a.shape.length - 2]!;
  const ac = a.shape[a.shape.length - 1]!;
  const br = b.shape[b.shape.length - 2]!;
  const bc = b.shape[b.shape.length - 1]!;
  const a2 = transposeA ? transpose2d(backend, a, ar, ac) : ({ ...a, shape: [ar, ac] } as TensorInfo);
  const b2 = transposeB ? transpose2d(backend, b, br, bc) : ({ ...b, shape: [br, bc] } as TensorInfo);
  if (a2.shape[1] !== b2.shape[0]) {
    throw new Error(
      `Error in matMul: inner shapes (${a2.shape[1]}) and (${b2.shape[0]}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const out = fastMatMul(backend, a2, b2);
  if (transposeA) backend.disposeData(a2.dataId);
  if (transposeB) backend.disposeData(b2.dataId);
  const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  return { dataId: out.dataId, shape: [...outer, a2.shape[0]!, b2.shape[1]!], dtype: 'float32' } as TensorInfo;
}

/** Identity: share the data (as Reshape does) instead of copying it; no kernel writes to its inputs. */
function identity(args: Args): TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return originalKernels.Identity!.kernelFunc(args as never) as TensorInfo;
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype } as TensorInfo;
}

/**
 * Cast to the tensor's own dtype (ReLU's gradient does it on every step): share instead of copying; to bool:
 * test for non-zero (the stock kernel truncates the numbers into bytes).
 */
function cast(args: Args): TensorInfo {
  const x = args.inputs.x!;
  const dtype = args.attrs?.dtype;
  if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
    // The stock kernel copies the raw numbers into bytes (-2 becomes 254); bool means "not zero".
    const { backend } = args;
    const out = backend.makeOutput(x.shape, 'bool');
    const n = x.shape.reduce((p, q) => p * q, 1);
    const xInfo = backend.dataIdMap.get(x.dataId)!;
    const src = x.dtype === 'float32' ? new Float32Array(backend.wasm.HEAPU8.buffer, xInfo.memoryOffset, n) : new Int32Array(backend.wasm.HEAPU8.buffer, xInfo.memoryOffset, n);
    const dst = new Uint8Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(out.dataId)!.memoryOffset, n);
    for (let i = 0; i < n; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  if (x.dtype === 'string' || dtype !== x.dtype) return originalKernels.Cast!.kernelFunc(args as never) as TensorInfo;
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype } as TensorInfo;
}

/**
 * Sum over leading axes of a float tensor (every bias gradient: dy summed over batch, height and width):
 * one pass of column sums. The stock kernel first transposes the whole tensor to make the axes innermost.
 */
function sum(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const rank = x.shape.length;
  const axes = tfc.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return originalKernels.Sum!.kernelFunc(args as never) as TensorInfo;
  const rows = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
  const inner = x.shape.slice(axes.length);
  const cols = inner.reduce((p, q) => p * q, 1);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...inner] : inner;
  const acc = new Float64Array(cols);
  const xv = f32(backend, x);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) acc[c]! += xv[o + c]!;
  }
  const out = alloc(backend, outShape);
  f32(backend, out).set(acc);
  return out;
}

/** Mean over leading axes (BatchNorm's batch statistics): column sums divided by the count. */
function mean(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const rank = x.shape.length;
  const axes = tfc.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return originalKernels.Mean!.kernelFunc(args as never) as TensorInfo;
  const rows = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
  const inner = x.shape.slice(axes.length);
  const cols = inner.reduce((p, q) => p * q, 1);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...inner] : inner;
  const acc = new Float64Array(cols);
  const xv = f32(backend, x);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) acc[c]! += xv[o + c]!;
  }
  for (let c = 0; c < cols; c++) acc[c]! /= rows;
  const out = alloc(backend, outShape);
  f32(backend, out).set(acc);
  return out;
}

/**
 * Tile (BatchNorm's gradient broadcasts per-channel values to the activation's full shape with it): fills
 * the first copy along each axis recursively, then replicates whole blocks with copyWithin.
 */
function tile(args: Args): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const reps = attrs.reps as number[];
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return originalKernels.Tile!.kernelFunc(args as never) as TensorInfo;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  const size = outShape.reduce((p, q) => p * q, 1);
  if (size === 0) return out;
  if (rank === 0) {
    f32(backend, out).set(f32(backend, x));
    return out;
  }
  const xInfo = backend.dataIdMap.get(x.dataId)!;
  const oInfo = backend.dataIdMap.get(out.dataId)!;
  // float32 and int32 are both 4 bytes: copy raw 32-bit words.
  const src = new Int32Array(backend.wasm.HEAPU8.buffer, xInfo.memoryOffset, x.shape.reduce((p, q) => p * q, 1));
  const dst = new Int32Array(backend.wasm.HEAPU8.buffer, oInfo.memoryOffset, size);
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  srcStride[rank - 1] = 1;
  dstStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1]! * x.shape[d + 1]!;
    dstStride[d] = dstStride[d + 1]! * outShape[d + 1]!;
  }
  const fill = (d: number, so: number, dof: number): void => {
    const n = x.shape[d]!;
    if (d === rank - 1) {
      dst.set(src.subarray(so, so + n), dof);
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, so + i * srcStride[d]!, dof + i * dstStride[d]!);
    }
    const block = n * dstStride[d]!;
    for (let r = 1; r < reps[d]!; r++) dst.copyWithin(dof + r * block, dof, dof + block);
  };
  fill(0, 0, 0);
  return out;
}

/** The kernels this module provides, by name. */
export const WASM_TRAINING_KERNELS: Record<string, KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as KernelFunc,
  MaxPoolGrad: maxPoolGrad as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as unknown as KernelFunc,
  BatchMatMul: batchMatMul as unknown as KernelFunc,
  Identity: identity as unknown as KernelFunc,
  Cast: cast as unknown as KernelFunc,
  Sum: sum as unknown as KernelFunc,
  Mean: mean as unknown as KernelFunc,
  Tile: tile as unknown as KernelFunc,
};

/**
 * Registers the training kernels for backendName 'wasm' (replacing the stock ones of the same name).
 * Idempotent. Call after `@tensorflow/tfjs-backend-wasm` has been imported (it registers its own kernels).
 */
export function registerWasmTrainingKernels(): string[] {
  if (!originalBatchMatMul) {
    const stock = tfc.getKernel('BatchMatMul', 'wasm');
    if (!stock) throw new Error('the wasm backend is not loaded (no BatchMatMul kernel registered)');
    if (!(stock.kernelFunc as { mixupStudio?: boolean }).mixupStudio) originalBatchMatMul = { ...stock };
  }
  const names: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(WASM_TRAINING_KERNELS)) {
    const existing = tfc.getKernel(kernelName, 'wasm');
    if (existing && !(existing.kernelFunc as { mixupStudio?: boolean }).mixupStudio && !originalKernels[kernelName]) {
      originalKernels[kernelName] = { ...existing };
    }
    if (existing && (existing.kernelFunc as { mixupStudio?: boolean }).mixupStudio) {
      names.push(kernelName);
      continue;
    }
    if (existing) tfc.unregisterKernel(kernelName, 'wasm');
    const marked: KernelFunc = (a) => kernelFunc(a);
    (marked as { mixupStudio?: boolean }).mixupStudio = true;
    const config: KernelConfig = { kernelName, backendName: 'wasm', kernelFunc: marked };
    // Keep the stock setup (it binds the C function the original kernel calls).
    if (existing?.setupFunc) config.setupFunc = existing.setupFunc;
    tfc.registerKernel(config);
    names.push(kernelName);
  }
  return names;
}

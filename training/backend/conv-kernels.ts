/**
 * 2-D convolution kernels for the wasm backend, computed by onnxruntime: Conv2D, FusedConv2D,
 * Conv2DBackpropInput (also tf.conv2dTranspose's forward) and Conv2DBackpropFilter (which the
 * wasm backend lacks). tfjs tensors are NHWC with HWIO filters. Where both channel counts are
 * whole NCHWc blocks, a conv runs as onnxruntime's NCHWc Conv, which reads and writes NHWC itself
 * (nchwc.ts); otherwise each graph either transposes the activations to ONNX's NCHW around a
 * Conv, or (for batches of small images) stays NHWC as im2col + MatMul. Filters reach onnxruntime
 * already in the layout the graph reads (OIHW, blocked, or flipped for an input gradient),
 * prepared once per weight value by filter-layouts.ts.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import { appendBiasAndActivation, BIAS_INPUT, fusedTailKey, PRELU_INPUT, type FusedActivation } from './fused-activation.ts';
import type { DelegatedKernel } from './delegated-kernel.ts';
import { type FilterLayout, filterLayoutDims, preparedFilter } from './filter-layouts.ts';
import { appendNchwcConv, NCHWC_DOMAIN, nchwcBlockSize, nchwcFits } from './nchwc.ts';
import type { FloatValue, SessionCache } from './ort-sync.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

type ConvPad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type DimRounding = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: ConvPad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** NHWC ↔ NCHW. Each moves a single axis, which onnxruntime transposes with block copies. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  dilations: [number, number] | number = 1,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode as DimRounding,
    false,
    'channelsLast',
  );
}

/** ONNX Conv/ConvTranspose attributes shared by the forward and input-gradient graphs. */
function onnxConvAttrs(info: backend_util.Conv2DInfo): { kernel_shape: number[]; strides: number[]; dilations: number[]; pads: number[] } {
  const { top, left, bottom, right } = info.padInfo;
  return {
    kernel_shape: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: [top, left, bottom, right],
  };
}

function infoKey(info: backend_util.Conv2DInfo): string {
  const p = info.padInfo;
  return [
    info.inShape,
    info.filterHeight,
    info.filterWidth,
    info.inChannels,
    info.outChannels,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
  ].join(',');
}

/** One convolution from an NHWC input to an NHWC output, as the graphs below build it. */
interface ConvGeometry {
  inShape: number[];
  outShape: number[];
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
}

function forwardGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  const { top, left, bottom, right } = info.padInfo;
  return {
    inShape: info.inShape,
    outShape: info.outShape,
    kernel: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: [top, left, bottom, right],
  };
}

/**
 * Whether im2col + MatMul in NHWC beats onnxruntime's NCHW Conv: for a batch of small images
 * (at most 64 output pixels each, at least 16 input channels), where Conv runs one small GEMM per
 * image and MatMul one GEMM for the whole batch (1.1-1.9× Conv on 4×4 to 7×7 batches of 8-32,
 * under load). With the filter layouts prepared once per weight value (filter-layouts.ts), Conv
 * wins or ties everywhere else, also for single deep layers at small sizes like the PatchGAN's
 * 16×16×256 (1.15×), where MatMul used to win because Conv's graph transposed the filter itself;
 * and by far when Cin is small, where im2col copies only a few floats at a time.
 */
function prefersMatMul(geo: ConvGeometry): boolean {
  const [batch, outHeight, outWidth] = geo.outShape as [number, number, number, number];
  return geo.inShape[3]! >= 16 && batch > 1 && outHeight * outWidth <= 64;
}

/** The ways a forward conv runs (forwardFormulation). */
export type ForwardFormulation = 'nchwc' | 'conv' | 'matmul' | 'convTranspose';

/**
 * How a forward conv runs: NHWC im2col + MatMul (batches of small images); the NCHWc Conv when
 * both channel counts are whole blocks; at stride 1 with few output channels (the generator's 7×7
 * RGB output layer), a ConvTranspose of x with the flipped filter, whose columns (Cout·k²·H·W)
 * are far smaller than Conv's im2col (Cin·k²·OH·OW); else NCHW Conv.
 */
function forwardFormulation(info: backend_util.Conv2DInfo): ForwardFormulation {
  if (prefersMatMul(forwardGeometry(info))) return 'matmul';
  if (nchwcFits(info.inChannels, info.outChannels)) return 'nchwc';
  const transposedColumns = info.outChannels * info.inHeight * info.inWidth;
  const convColumns = info.inChannels * info.outHeight * info.outWidth;
  return stride1FlippedPads(info) && 2 * transposedColumns < convColumns ? 'convTranspose' : 'conv';
}

/** The formulation a forward conv of these shapes runs as (tests cover each). */
export function forwardConvFormulation(
  xShape: number[],
  filterShape: number[],
  strides: number,
  pad: 'same' | 'valid',
  dilation = 1,
): ForwardFormulation {
  return forwardFormulation(convInfo(xShape, filterShape, { strides, pad, dataFormat: 'NHWC' }, dilation));
}

/** The filter layout a graph input gets: HWIO as tfjs holds it, or one prepared by filter-layouts.ts. */
type FilterInputLayout = FilterLayout | 'hwio';

/**
 * The filter layout appendConvolution reads for this geometry: the HWIO-ordered one (as is, or
 * flipped and in/out-swapped for an input gradient) for im2col + MatMul, OIHW (or its flipped
 * twin) for Conv.
 */
function convolutionLayout(geo: ConvGeometry, flipped: boolean): FilterInputLayout {
  if (prefersMatMul(geo)) return flipped ? 'flippedHwoi' : 'hwio';
  return flipped ? 'flippedIohw' : 'oihw';
}

/**
 * Appends y = conv(x, filter) for NHWC x and y, the filter in convolutionLayout(geo)'s layout
 * (its rows in HWIO order for MatMul, OIHW for Conv).
 */
function appendConvolution(g: OnnxGraph, x: string, filter: string, geo: ConvGeometry): string {
  const [kh, kw] = geo.kernel;
  if (prefersMatMul(geo)) {
    const rows = kh * kw * geo.inShape[3]!;
    return g.op('MatMul', [nhwcPatches(g, x, geo), g.op('Reshape', [filter, g.int64s('shape', [rows, geo.outShape[3]!])])]);
  }
  const conv = g.op('Conv', [g.op('Transpose', [x], { perm: TO_NCHW }), filter], {
    kernel_shape: geo.kernel,
    strides: geo.strides,
    dilations: geo.dilations,
    pads: geo.pads,
    group: 1,
  });
  return g.op('Transpose', [conv], { perm: TO_NHWC });
}

/**
 * The tensor a graph's filter input reads: the filter itself (HWIO), or its prepared copy in
 * `layout`. Preparing may allocate, so kernels call this before allocating their output.
 */
function filterSource(wasm: BackendWasm, filter: TensorInfo, layout: FilterInputLayout): TensorInfo {
  return layout === 'hwio' ? filter : preparedFilter(wasm, filter, layout);
}

const filterDims = (shape: number[], layout: FilterInputLayout) => (layout === 'hwio' ? shape : filterLayoutDims(shape, layout));

/**
 * im2col in NHWC: [N, OH, OW, kH·kW·Cin], each output pixel's receptive field in HWIO order, so
 * that a MatMul with the filter reshaped to [kH·kW·Cin, Cout] is the convolution, already NHWC.
 */
function nhwcPatches(g: OnnxGraph, x: string, geo: ConvGeometry): string {
  const [kh, kw] = geo.kernel;
  const [sh, sw] = geo.strides;
  const [dh, dw] = geo.dilations;
  const [top, left] = geo.pads;
  const [, inHeight, inWidth] = geo.inShape as [number, number, number, number];
  const [, outHeight, outWidth] = geo.outShape as [number, number, number, number];
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0) return x;
  // Pad only what the taps read; the conv's own end pad may reach further than that.
  const bottom = Math.max(0, (kh - 1) * dh + sh * (outHeight - 1) + 1 - inHeight - top);
  const right = Math.max(0, (kw - 1) * dw + sw * (outWidth - 1) + 1 - inWidth - left);
  const source =
    top + left + bottom + right > 0 ? g.op('Pad', [x, g.int64s('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' }) : x;
  const taps: string[] = [];
  for (let i = 0; i < kh; i += 1) {
    for (let j = 0; j < kw; j += 1) {
      taps.push(
        g.op('Slice', [
          source,
          g.int64s('starts', [i * dh, j * dw]),
          g.int64s('ends', [i * dh + sh * (outHeight - 1) + 1, j * dw + sw * (outWidth - 1) + 1]),
          g.int64s('axes', [1, 2]),
          g.int64s('steps', [sh, sw]),
        ]),
      );
    }
  }
  return taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: 3 });
}

/** The filter layout a forward conv's graph reads. */
function forwardLayout(formulation: ForwardFormulation, info: backend_util.Conv2DInfo): FilterInputLayout {
  if (formulation === 'convTranspose') return 'flippedIohw';
  if (formulation === 'nchwc') return 'nchwc';
  return convolutionLayout(forwardGeometry(info), false);
}

/** Conv2D and FusedConv2D (bias and activation fused into the same graph). */
export function conv2dForward(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & {
      dilations: [number, number] | number;
      activation?: FusedActivation;
      leakyreluAlpha?: number;
    };
    if (!x || !filter || a.dataFormat === 'NCHW') return undefined;
    const activation = a.activation ?? 'linear';
    const info = convInfo(x.shape, filter.shape, a, a.dilations);
    const formulation = forwardFormulation(info);
    const layout = forwardLayout(formulation, info);
    const key = `conv|${formulation}|${infoKey(info)}|${fusedTailKey(bias, activation, preluActivationWeights, a.leakyreluAlpha)}`;
    const session = cache.get(key, () => {
      const g = new OnnxGraph('conv2d');
      const xIn = g.input('x', 'float', x.shape);
      const wIn = g.input('filter', 'float', filterDims(filter.shape, layout));
      const geometry = forwardGeometry(info);
      let y: string;
      if (formulation === 'nchwc') {
        y = appendNchwcConv(g, xIn, wIn, info.outChannels, onnxConvAttrs(info));
      } else if (formulation === 'convTranspose') {
        const transposed = g.op('ConvTranspose', [g.op('Transpose', [xIn], { perm: TO_NCHW }), wIn], {
          kernel_shape: geometry.kernel,
          dilations: geometry.dilations,
          pads: stride1FlippedPads(info)!,
        });
        y = g.op('Transpose', [transposed], { perm: TO_NHWC });
      } else {
        y = appendConvolution(g, xIn, wIn, geometry);
      }
      g.output(
        g.op('Identity', [appendBiasAndActivation(g, y, bias, activation, preluActivationWeights, a.leakyreluAlpha)], {}, 'y'),
        'float',
        info.outShape,
      );
      return g;
    });
    const wasm = backend as BackendWasm;
    const filterValues = filterSource(wasm, filter, layout);
    const out = allocateOutput(wasm, info.outShape);
    const feeds = { x: heapValue(wasm, x), filter: heapValue(wasm, filterValues, filterDims(filter.shape, layout)) } as Record<
      string,
      FloatValue
    >;
    if (bias) feeds[BIAS_INPUT] = heapValue(wasm, bias);
    if (preluActivationWeights) feeds[PRELU_INPUT] = heapValue(wasm, preluActivationWeights);
    session.run(feeds, { y: heapValue(wasm, out) });
    return out;
  };
}

/**
 * How dx of a conv (a transposed convolution) runs: at stride 1 with both channel counts whole
 * NCHWc blocks, a convolution of dy with the spatially flipped filter, in and out channels
 * swapped, as an NCHWc Conv; otherwise onnxruntime's ConvTranspose, whose weight is the forward
 * conv's OIHW filter; or, at stride 1 when dy has fewer channels than dx, the flipped-filter conv
 * as a plain Conv, which onnxruntime runs much faster there (the generator's 3-channel output
 * layer: 5 → 40 GFLOP per CPU-second). ConvTranspose materialises Cin·k²·OH·OW columns, the conv
 * Cout·k²·H·W: the smaller wins. (A sub-pixel split of the strided case into s² stride-1 convs of
 * dy, interleaved, measured 0.43-0.73× ConvTranspose's speed on the bench step's shapes as plain
 * Convs, and 1.0-1.6× as NCHWc Convs, which left the whole step unchanged: not kept.)
 */
export type InputGradFormulation = 'nchwcFlippedConv' | 'flippedConv' | 'convTranspose';

export function inputGradFormulation(info: backend_util.Conv2DInfo): InputGradFormulation {
  const twinPads = stride1FlippedPads(info);
  // As an NCHWc Conv the flipped conv beats ConvTranspose whatever the column counts (the
  // residual blocks' 3×3 128→128: 1.0 against 1.9 ms).
  if (twinPads && !prefersMatMul(flippedGeometry(info)) && nchwcFits(info.outChannels, info.inChannels)) return 'nchwcFlippedConv';
  // Conv over dy materialises Cout·k²·H·W columns, ConvTranspose Cin·k²·OH·OW: take the smaller.
  if (twinPads && info.outChannels * info.inHeight * info.inWidth <= info.inChannels * info.outHeight * info.outWidth) return 'flippedConv';
  return 'convTranspose';
}

/** The geometry of the input gradient as a stride-1 conv of dy (the 'flippedConv' formulation). */
function flippedGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    inShape: info.outShape,
    outShape: info.inShape,
    kernel: [info.filterHeight, info.filterWidth],
    strides: [1, 1],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: stride1FlippedPads(info)!,
  };
}

/** The filter layout the input-gradient graph of `formulation` reads. */
export function inputGradLayout(info: backend_util.Conv2DInfo, formulation: InputGradFormulation): FilterInputLayout {
  if (formulation === 'nchwcFlippedConv') return 'flippedNchwc';
  return formulation === 'flippedConv' ? convolutionLayout(flippedGeometry(info), true) : 'oihw';
}

/**
 * dx of a conv, i.e. a transposed convolution, in the formulation `inputGradFormulation` picks.
 * ConvTranspose uses the forward conv's begin pads; as the forward conv can drop trailing input
 * rows (stride 2 over an even size with 'same' padding, or 'valid' leftovers), its output length
 * is fixed explicitly: output_padding adds the missing trailing rows, or extra end padding removes
 * surplus ones.
 */
export function conv2dBackpropInput(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    if (!dy || !filter || a.dataFormat === 'NCHW') return undefined;
    const info = convInfo(a.inputShape, filter.shape, a);
    const formulation = inputGradFormulation(info);
    const session = cache.get(`convInputGrad|${formulation}|${infoKey(info)}`, () => buildInputGradGraph(info, formulation));
    const wasm = backend as BackendWasm;
    const layout = inputGradLayout(info, formulation);
    const filterValues = filterSource(wasm, filter, layout);
    const out = allocateOutput(wasm, a.inputShape);
    const feeds = { dy: heapValue(wasm, dy), filter: heapValue(wasm, filterValues, filterDims(filter.shape, layout)) };
    session.run(feeds, { dx: heapValue(wasm, out) });
    return out;
  };
}

/** The graph dx = f(dy, filter) of one formulation (inputs 'dy', 'filter' in inputGradLayout; output 'dx'). */
function buildInputGradGraph(info: backend_util.Conv2DInfo, formulation: InputGradFormulation): OnnxGraph {
  const g = new OnnxGraph('conv2d_backprop_input');
  const dyInput = g.input('dy', 'float', info.outShape);
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const filterInput = g.input('filter', 'float', filterDims(filterShape, inputGradLayout(info, formulation)));
  let dx: string;
  if (formulation === 'nchwcFlippedConv') {
    const geometry = flippedGeometry(info);
    dx = appendNchwcConv(g, dyInput, filterInput, info.inChannels, {
      kernel_shape: geometry.kernel,
      strides: geometry.strides,
      dilations: geometry.dilations,
      pads: geometry.pads,
    });
  } else if (formulation === 'flippedConv') {
    dx = appendConvolution(g, dyInput, filterInput, flippedGeometry(info));
  } else {
    const base = onnxConvAttrs(info);
    const [top, left, bottom, right] = base.pads as [number, number, number, number];
    const [heightPad, heightExtra] = trailingFix(
      info.inHeight,
      info.outHeight,
      info.strideHeight,
      info.filterHeight,
      info.dilationHeight,
      top,
      bottom,
    );
    const [widthPad, widthExtra] = trailingFix(
      info.inWidth,
      info.outWidth,
      info.strideWidth,
      info.filterWidth,
      info.dilationWidth,
      left,
      right,
    );
    const transposed = g.op('ConvTranspose', [g.op('Transpose', [dyInput], { perm: TO_NCHW }), filterInput], {
      ...base,
      pads: [top, left, heightPad, widthPad],
      output_padding: [heightExtra, widthExtra],
    });
    dx = g.op('Transpose', [transposed], { perm: TO_NHWC });
  }
  g.output(g.op('Identity', [dx], {}, 'dx'), 'float', info.inShape);
  return g;
}

/**
 * For a stride-1 conv, the pads [top, left, bottom, right] of its flipped-filter twins: dx is the
 * conv of dy with the flipped filter, dx[i] = Σ_k dy[i + pad − k·d] w[k], whose begin pad is
 * (k−1)·d − pad and whose end pad makes the output exactly the input size; and by the same
 * identity the forward conv is a ConvTranspose of x with the flipped filter and these pads.
 * Undefined when the stride is not 1 or a pad would be negative (explicit pads wider than the
 * filter).
 */
function stride1FlippedPads(info: backend_util.Conv2DInfo): [number, number, number, number] | undefined {
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return undefined;
  const { top, left } = info.padInfo;
  const pads: [number, number, number, number] = [
    (info.filterHeight - 1) * info.dilationHeight - top,
    (info.filterWidth - 1) * info.dilationWidth - left,
    info.inHeight - info.outHeight + top,
    info.inWidth - info.outWidth + left,
  ];
  return pads.every((pad) => pad >= 0) ? pads : undefined;
}

/**
 * For one spatial axis, the ConvTranspose end pad and output_padding that make its output exactly
 * `inSize` long, given the forward conv's begin and end pads.
 */
function trailingFix(
  inSize: number,
  outSize: number,
  stride: number,
  filter: number,
  dilation: number,
  beginPad: number,
  endPad: number,
): [number, number] {
  const natural = stride * (outSize - 1) + (filter - 1) * dilation + 1 - beginPad - endPad;
  const missing = inSize - natural;
  return missing >= 0 ? [endPad, missing] : [endPad - missing, 0];
}

/**
 * dW of a conv: an NCHWc Conv of x with dy, im2col + one GEMM, or a correlation Conv
 * (filterGradFormulation). The im2col columns hold each filter tap's strided slice of the padded
 * x, in (kh, kw, cin) row order, which is exactly the HWIO filter layout, so
 * dW = columns × dy[N·OH·OW, Cout] is already HWIO.
 */
export function conv2dBackpropFilter(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if (!x || !dy || a.dataFormat === 'NCHW') return undefined;
    const info = convInfo(x.shape, a.filterShape, a);
    const formulation = filterGradFormulation(info);
    const session = cache.get(`convFilterGrad|${formulation}|${infoKey(info)}`, () => buildFilterGradGraph(info, formulation));
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, a.filterShape);
    session.run({ x: heapValue(wasm, x), dy: heapValue(wasm, dy) }, { dw: heapValue(wasm, out) });
    return out;
  };
}

/**
 * How a filter gradient runs:
 * - 'nchwc': when the conv's output channels are whole NCHWc blocks, the batch is below one and
 *   the output has more than 16×16 pixels, an NCHWc Conv of x (its channels as the batch) with dy
 *   as the kernel (buildFilterGradNchwc): no im2col columns at all, 1.1-1.7× the im2col graphs on
 *   the bench step's shapes;
 * - 'correlation': at stride 1 with few output channels (the generator's RGB output layer, where
 *   im2col would copy x k² times), one Conv of the padded dy with x as the kernel, whose columns
 *   (Cout·Hp·Wp·k²) are far smaller;
 * - 'im2colNhwc': strided convs with at least 16 input channels: the taps sliced from x as it is
 *   (each copy a run of Cin floats), then one Gemm with the columns transposed as a flag
 *   (1.06-1.33× 'im2col' on the bench step's stride-2 layers, under load);
 * - 'im2col': x moved to [Cin, N, H, W] first so that each tap's slice copies whole rows (an NHWC
 *   slice would copy Cin floats at a time, which is slow for the 3-channel stem; at stride 1 the
 *   two measured the same).
 */
export type FilterGradFormulation = 'nchwc' | 'im2col' | 'im2colNhwc' | 'correlation';

export function filterGradFormulation(info: backend_util.Conv2DInfo): FilterGradFormulation {
  const block = nchwcBlockSize();
  // dy is the NCHWc Conv's kernel: at 16×16 and below (the PatchGAN's last two layers) it ran at
  // 0.8-1.0× the im2col graphs, from 32×32 up at 1.1-1.7×.
  const kernelPixels = info.outHeight * info.outWidth;
  if (block > 0 && info.outChannels % block === 0 && info.batchSize < block && kernelPixels > 256) return 'nchwc';
  const unitStride = info.strideHeight === 1 && info.strideWidth === 1;
  if (!unitStride) return info.inChannels >= 16 ? 'im2colNhwc' : 'im2col';
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return 'im2col';
  const { top, bottom, left, right } = info.padInfo;
  const paddedArea = (info.inHeight + top + bottom) * (info.inWidth + left + right);
  return 2 * info.outChannels * paddedArea < info.inChannels * info.outHeight * info.outWidth ? 'correlation' : 'im2col';
}

/** The graph dW = f(x, dy) of one formulation (inputs 'x', 'dy'; output 'dw', HWIO). */
function buildFilterGradGraph(info: backend_util.Conv2DInfo, formulation: FilterGradFormulation): OnnxGraph {
  const xShape = info.inShape;
  const dyShape = info.outShape;
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  if (formulation === 'nchwc') return buildFilterGradNchwc(info, filterShape);
  if (formulation === 'correlation') return buildFilterGradCorrelation(info, xShape, dyShape, filterShape);
  const g = new OnnxGraph('conv2d_backprop_filter');
  const [batch, , , inChannels] = xShape as [number, number, number, number];
  const { top, left } = info.padInfo;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  // Pad so that every tap's strided slice stays in range; the forward conv's own end pad may be
  // smaller than that when it never reads the last rows.
  const bottom = Math.max(0, kh - 1 + sh * (oh - 1) + 1 - info.inHeight - top);
  const right = Math.max(0, kw - 1 + sw * (ow - 1) + 1 - info.inWidth - left);
  const nhwc = formulation === 'im2colNhwc';
  // Spatial axes 1, 2 in NHWC; 2, 3 in [Cin, N, H, W].
  const [hAxis, wAxis] = nhwc ? [1, 2] : [2, 3];
  let source = g.input('x', 'float', xShape);
  if (!nhwc) source = g.op('Transpose', [source], { perm: [3, 0, 1, 2] });
  if (top + left + bottom + right > 0) {
    const pads = [0, 0, 0, 0, 0, 0, 0, 0];
    [pads[hAxis], pads[wAxis], pads[hAxis + 4], pads[wAxis + 4]] = [top, left, bottom, right];
    source = g.op('Pad', [source, g.int64s('pads', pads)], { mode: 'constant' });
  }
  const taps: string[] = [];
  for (let i = 0; i < kh; i += 1) {
    for (let j = 0; j < kw; j += 1) {
      taps.push(
        g.op('Slice', [
          source,
          g.int64s('starts', [i, j]),
          g.int64s('ends', [i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1]),
          g.int64s('axes', [hAxis, wAxis]),
          g.int64s('steps', [sh, sw]),
        ]),
      );
    }
  }
  const rows = batch * oh * ow;
  const patches = taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: nhwc ? 3 : 0 });
  const dy = g.op('Reshape', [g.input('dy', 'float', dyShape), g.int64s('shape', [rows, info.outChannels])]);
  const dw = nhwc
    ? g.op('Gemm', [g.op('Reshape', [patches, g.int64s('shape', [rows, kh * kw * inChannels])]), dy], { transA: 1 })
    : g.op('MatMul', [g.op('Reshape', [patches, g.int64s('shape', [kh * kw * inChannels, rows])]), dy]);
  g.output(g.op('Reshape', [dw, g.int64s('shape', filterShape)], {}, 'dw'), 'float', filterShape);
  return g;
}

/**
 * dW[kh, kw, ci, co] = Σ x[n, oh·s + kh·d − pad, ow·s + kw·d − pad, ci] · dy[n, oh, ow, co] as an
 * NCHWc Conv whose input is x with its channels as the batch ([Cin, N, H, W], N channels below a
 * block: MLAS's NCHW-input path) and whose kernel is dy ([Cout, N, OH, OW], taps s apart: the
 * forward stride becomes the dilation, the forward dilation the stride). dy as that kernel, in
 * MLAS's OIHWBo blocks, is what ReorderInput makes of NHWC dy: [N][Cout/B][OH][OW][B], with the
 * first two axes swapped when N > 1. The output [Cin, Cout, ≥ kH, ≥ kW] comes back NHWC
 * ([Cin, kH, kW, Cout], cropped where the forward conv left end padding unread) and is moved to
 * HWIO.
 */
function buildFilterGradNchwc(info: backend_util.Conv2DInfo, filterShape: number[]): OnnxGraph {
  const g = new OnnxGraph('conv2d_backprop_filter_nchwc');
  const { batchSize: n, outChannels, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { top, left, bottom, right } = info.padInfo;
  const input = g.op('Transpose', [g.input('x', 'float', info.inShape)], { perm: [3, 0, 1, 2] });
  let kernel = g.op('ReorderInput', [g.input('dy', 'float', info.outShape)], { channels_last: 1 }, undefined, NCHWC_DOMAIN);
  const block = nchwcBlockSize();
  if (n > 1) {
    const blocks = g.op('Reshape', [kernel, g.int64s('blocks', [n, outChannels / block, oh, ow, block])]);
    kernel = g.op('Transpose', [blocks], { perm: [1, 0, 2, 3, 4] });
  }
  kernel = g.op('Reshape', [kernel, g.int64s('kernel', [outChannels, n, oh, ow])]);
  const conv = g.op(
    'Conv',
    [input, kernel],
    {
      kernel_shape: [oh, ow],
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pads: [top, left, bottom, right],
      group: 1,
    },
    undefined,
    NCHWC_DOMAIN,
  );
  let taps = g.op('ReorderOutput', [conv], { channels: outChannels, channels_last: 1 }, undefined, NCHWC_DOMAIN);
  const fullHeight = Math.floor((info.inHeight + top + bottom - info.strideHeight * (oh - 1) - 1) / info.dilationHeight) + 1;
  const fullWidth = Math.floor((info.inWidth + left + right - info.strideWidth * (ow - 1) - 1) / info.dilationWidth) + 1;
  if (fullHeight > kh || fullWidth > kw) {
    taps = g.op('Slice', [taps, g.int64s('starts', [0, 0]), g.int64s('ends', [kh, kw]), g.int64s('axes', [1, 2])]);
  }
  g.output(g.op('Transpose', [taps], { perm: [1, 2, 0, 3] }, 'dw'), 'float', filterShape);
  return g;
}

/**
 * dW[t] = Σ_p xPad[p + t] · dy[p] as an ONNX Conv: dy as the input ([Cout, N, OH, OW], padded by
 * k − 1 on every side) and the padded x as the kernel ([Cin, N, Hp, Wp]). The output
 * [Cout, Cin, kH, kW] holds the taps in reverse order: out[i] = dW[k − 1 − i].
 */
function buildFilterGradCorrelation(info: backend_util.Conv2DInfo, xShape: number[], dyShape: number[], filterShape: number[]): OnnxGraph {
  const g = new OnnxGraph('conv2d_backprop_filter_correlation');
  const { top, left, bottom, right } = info.padInfo;
  const { filterHeight: kh, filterWidth: kw } = info;
  // Pad before the transpose: onnxruntime 1.30's Pad+Conv fusion mistakes a Pad feeding a Conv's
  // weights for one feeding its input and drops it ("Node input ... is not a graph input").
  let padded = g.input('x', 'float', xShape);
  if (top + left + bottom + right > 0)
    padded = g.op('Pad', [padded, g.int64s('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' });
  const kernel = g.op('Transpose', [padded], { perm: [3, 0, 1, 2] });
  const input = g.op('Transpose', [g.input('dy', 'float', dyShape)], { perm: [3, 0, 1, 2] });
  const reversed = g.op('Conv', [input, kernel], { pads: [kh - 1, kw - 1, kh - 1, kw - 1] });
  const taps = g.op('Slice', [
    reversed,
    g.int64s('starts', [-1, -1]),
    g.int64s('ends', [-(2 ** 53), -(2 ** 53)]),
    g.int64s('axes', [2, 3]),
    g.int64s('steps', [-1, -1]),
  ]);
  g.output(g.op('Transpose', [taps], { perm: [2, 3, 1, 0] }, 'dw'), 'float', filterShape);
  return g;
}

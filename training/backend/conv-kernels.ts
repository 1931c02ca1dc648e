/**
 * 2-D convolution kernels for the wasm backend, computed by onnxruntime: Conv2D, FusedConv2D,
 * Conv2DBackpropInput (also tf.conv2dTranspose's forward) and Conv2DBackpropFilter (which the
 * wasm backend lacks). tfjs tensors are NHWC with HWIO filters; each graph transposes to ONNX's
 * NCHW/OIHW internally, so callers never see the layout change.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import { appendBiasAndActivation, BIAS_INPUT, fusedTailKey, PRELU_INPUT, type FusedActivation } from './fused-activation.ts';
import type { SessionCache } from './ort-sync.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

type ConvPad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type DimRounding = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: ConvPad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** NHWC → NCHW, and HWIO filter → OIHW (also ConvTranspose's [C_in, C_out, kH, kW] for a grad). */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
const FILTER_TO_OIHW = [3, 2, 0, 1];

/** A kernel body, or undefined when it must fall back to the wasm backend's own kernel. */
export type DelegatedKernel = (args: Parameters<KernelFunc>[0]) => TensorInfo | undefined;

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs, dilations: [number, number] | number = 1): backend_util.Conv2DInfo {
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
  return [info.inShape, info.filterHeight, info.filterWidth, info.inChannels, info.outChannels, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, p.top, p.left, p.bottom, p.right].join(',');
}

/** Conv2D and FusedConv2D (bias and activation fused into the same graph). */
export function conv2dForward(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & { dilations: [number, number] | number; activation?: FusedActivation; leakyreluAlpha?: number };
    if (!x || !filter || a.dataFormat === 'NCHW') return undefined;
    const activation = a.activation ?? 'linear';
    const info = convInfo(x.shape, filter.shape, a, a.dilations);
    const key = `conv|${infoKey(info)}|${fusedTailKey(bias, activation, preluActivationWeights, a.leakyreluAlpha)}`;
    const session = cache.get(key, () => {
      const g = new OnnxGraph('conv2d');
      const xT = g.op('Transpose', [g.input('x', 'float', x.shape)], { perm: TO_NCHW });
      const wT = g.op('Transpose', [g.input('filter', 'float', filter.shape)], { perm: FILTER_TO_OIHW });
      const y = g.op('Transpose', [g.op('Conv', [xT, wT], { ...onnxConvAttrs(info), group: 1 })], { perm: TO_NHWC });
      g.output(g.op('Identity', [appendBiasAndActivation(g, y, bias, activation, preluActivationWeights, a.leakyreluAlpha)], {}, 'y'), 'float', info.outShape);
      return g;
    });
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, info.outShape);
    const feeds = { x: heapValue(wasm, x), filter: heapValue(wasm, filter) } as Record<string, ReturnType<typeof heapValue>>;
    if (bias) feeds[BIAS_INPUT] = heapValue(wasm, bias);
    if (preluActivationWeights) feeds[PRELU_INPUT] = heapValue(wasm, preluActivationWeights);
    session.run(feeds, { y: heapValue(wasm, out) });
    return out;
  };
}

/**
 * dx of a conv, i.e. a transposed convolution: ONNX ConvTranspose with the forward conv's begin
 * pads. The forward conv can drop trailing input rows (stride 2 over an even size with 'same'
 * padding, or 'valid' leftovers), so the output length is fixed explicitly: output_padding adds the
 * missing trailing rows, or extra end padding removes surplus ones.
 */
export function conv2dBackpropInput(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    if (!dy || !filter || a.dataFormat === 'NCHW') return undefined;
    const info = convInfo(a.inputShape, filter.shape, a);
    const session = cache.get(`convTranspose|${infoKey(info)}`, () => {
      const g = new OnnxGraph('conv2d_backprop_input');
      const dyT = g.op('Transpose', [g.input('dy', 'float', dy.shape)], { perm: TO_NCHW });
      const wT = g.op('Transpose', [g.input('filter', 'float', filter.shape)], { perm: FILTER_TO_OIHW });
      const base = onnxConvAttrs(info);
      const [top, left, bottom, right] = base.pads as [number, number, number, number];
      const [heightPad, heightExtra] = trailingFix(info.inHeight, info.outHeight, info.strideHeight, info.filterHeight, info.dilationHeight, top, bottom);
      const [widthPad, widthExtra] = trailingFix(info.inWidth, info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth, left, right);
      const dx = g.op('ConvTranspose', [dyT, wT], {
        ...base,
        pads: [top, left, heightPad, widthPad],
        output_padding: [heightExtra, widthExtra],
      });
      g.output(g.op('Transpose', [dx], { perm: TO_NHWC }, 'dx'), 'float', a.inputShape);
      return g;
    });
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, a.inputShape);
    session.run({ dy: heapValue(wasm, dy), filter: heapValue(wasm, filter) }, { dx: heapValue(wasm, out) });
    return out;
  };
}

/**
 * For one spatial axis, the ConvTranspose end pad and output_padding that make its output exactly
 * `inSize` long, given the forward conv's begin and end pads.
 */
function trailingFix(inSize: number, outSize: number, stride: number, filter: number, dilation: number, beginPad: number, endPad: number): [number, number] {
  const natural = stride * (outSize - 1) + (filter - 1) * dilation + 1 - beginPad - endPad;
  const missing = inSize - natural;
  return missing >= 0 ? [endPad, missing] : [endPad - missing, 0];
}

/**
 * dW of a conv as im2col + one GEMM. x goes to [Cin, N, H, W] first so that each filter tap's
 * strided slice copies whole rows (an NHWC slice would copy Cin floats at a time, which is slow
 * for the 3-channel stem); the taps concatenate to columns [kH·kW·Cin, N·OH·OW] whose row order
 * (kh, kw, cin) is exactly the HWIO filter layout, and dW = columns × dy[N·OH·OW, Cout].
 */
export function conv2dBackpropFilter(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as Record<string, TensorInfo | undefined>;
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if (!x || !dy || a.dataFormat === 'NCHW') return undefined;
    const info = convInfo(x.shape, a.filterShape, a);
    const session = cache.get(`convFilterGrad|${infoKey(info)}`, () => buildFilterGradGraph(info, x.shape, dy.shape, a.filterShape));
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, a.filterShape);
    session.run({ x: heapValue(wasm, x), dy: heapValue(wasm, dy) }, { dw: heapValue(wasm, out) });
    return out;
  };
}

function buildFilterGradGraph(info: backend_util.Conv2DInfo, xShape: number[], dyShape: number[], filterShape: number[]): OnnxGraph {
  const g = new OnnxGraph('conv2d_backprop_filter');
  const [batch, , , inChannels] = xShape as [number, number, number, number];
  const { top, left } = info.padInfo;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  // Pad so that every tap's strided slice stays in range; the forward conv's own end pad may be
  // smaller than that when it never reads the last rows.
  const bottom = Math.max(0, (kh - 1) + sh * (oh - 1) + 1 - info.inHeight - top);
  const right = Math.max(0, (kw - 1) + sw * (ow - 1) + 1 - info.inWidth - left);
  let source = g.op('Transpose', [g.input('x', 'float', xShape)], { perm: [3, 0, 1, 2] });
  if (top + left + bottom + right > 0) {
    source = g.op('Pad', [source, g.int64s('pads', [0, 0, top, left, 0, 0, bottom, right])], { mode: 'constant' });
  }
  const taps: string[] = [];
  for (let i = 0; i < kh; i += 1) {
    for (let j = 0; j < kw; j += 1) {
      taps.push(g.op('Slice', [
        source,
        g.int64s('starts', [i, j]),
        g.int64s('ends', [i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1]),
        g.int64s('axes', [2, 3]),
        g.int64s('steps', [sh, sw]),
      ]));
    }
  }
  const rows = batch * oh * ow;
  const patches = taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: 0 });
  const columns = g.op('Reshape', [patches, g.int64s('shape', [kh * kw * inChannels, rows])]);
  const dy = g.op('Reshape', [g.input('dy', 'float', dyShape), g.int64s('shape', [rows, info.outChannels])]);
  g.output(g.op('Reshape', [g.op('MatMul', [columns, dy]), g.int64s('shape', filterShape)], {}, 'dw'), 'float', filterShape);
  return g;
}

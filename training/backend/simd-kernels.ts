/**
 * WebAssembly SIMD kernels that run directly on the tfjs wasm backend's heap: the Adam update
 * (fused-adam.ts), instance normalization with an optional (leaky) ReLU (instance-norm.ts), and
 * the block copies and transposes that rearrange conv filters (filter-layouts.ts).
 *
 * These are memory-bound passes that onnxruntime or tfjs would run as several kernels, each one
 * more pass over the data and more dispatch. The module imports the backend's own
 * `WebAssembly.Memory`, so it reads and writes tensors where they are: no copies, and addresses
 * are the tensors' heap offsets. It is written as WebAssembly text and compiled by wabt when
 * 'wasm-ort' is selected (≈ 0.1 s), so no binary of unknown origin is committed.
 *
 * Arithmetic is f32 throughout; the Adam update does the stock AdamOptimizer's operations in its
 * order, so it equals the unfused path on wasm bit for bit.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import wabt from 'wabt';

/** One f32 operation set, vector (f32x4 on v128) or scalar, so one template writes both loops. */
interface Lanes {
  load: string;
  store: string;
  add: string;
  sub: string;
  mul: string;
  div: string;
  sqrt: string;
  /** A parameter's value in these lanes: its splat local for vectors, the parameter for scalars. */
  param: (name: string) => string;
}

const VECTOR: Lanes = {
  load: 'v128.load',
  store: 'v128.store',
  add: 'f32x4.add',
  sub: 'f32x4.sub',
  mul: 'f32x4.mul',
  div: 'f32x4.div',
  sqrt: 'f32x4.sqrt',
  param: (name) => `(local.get ${name}_v)`,
};
const SCALAR: Lanes = {
  load: 'f32.load',
  store: 'f32.store',
  add: 'f32.add',
  sub: 'f32.sub',
  mul: 'f32.mul',
  div: 'f32.div',
  sqrt: 'f32.sqrt',
  param: (name) => `(local.get ${name})`,
};

const ADAM_PARAMS = ['$b1', '$c1', '$b2', '$c2', '$d1', '$d2', '$eps', '$step'];

/**
 * One element (or four) of the stock AdamOptimizer, in its operation order:
 *   m' = m·β₁ + g·(1−β₁);  v' = v·β₂ + g²·(1−β₂);  w' = (m'/d₁) / (√(v'/d₂) + ε) · (−lr) + w
 * with d = 1 − βᵗ. `$o` is the byte offset of the element.
 */
function adamBody(t: Lanes): string {
  const at = (base: string) => `(i32.add (local.get ${base}) (local.get $o))`;
  return `
   (local.set $gv (${t.load} ${at('$g')}))
   (local.set $mv (${t.add} (${t.mul} (${t.load} ${at('$m')}) ${t.param('$b1')}) (${t.mul} (local.get $gv) ${t.param('$c1')})))
   (local.set $vv (${t.add} (${t.mul} (${t.load} ${at('$v')}) ${t.param('$b2')}) (${t.mul} (${t.mul} (local.get $gv) (local.get $gv)) ${t.param('$c2')})))
   (${t.store} ${at('$outM')} (local.get $mv))
   (${t.store} ${at('$outV')} (local.get $vv))
   (${t.store} ${at('$outW')} (${t.add}
     (${t.mul} (${t.div} (${t.div} (local.get $mv) ${t.param('$d1')}) (${t.add} (${t.sqrt} (${t.div} (local.get $vv) ${t.param('$d2')})) ${t.param('$eps')})) ${t.param('$step')})
     (${t.load} ${at('$w')})))`;
}

/** `for (counter = from; counter < to; counter += step) body`, with `counter` an i32 local. */
const countedLoop = (label: string, counter: string, from: string, to: string, step: number, body: string) => `
  (local.set ${counter} ${from})
  (block $${label}_done (loop $${label}
   (br_if $${label}_done (i32.ge_u (local.get ${counter}) ${to}))
   ${body}
   (local.set ${counter} (i32.add (local.get ${counter}) (i32.const ${step})))
   (br $${label})))`;
/** The same over byte offsets in the local `$o`. */
const byteLoop = (label: string, from: string, to: string, step: number, body: string) => countedLoop(label, '$o', from, to, step, body);

/**
 * Instance norm over [N, HW, C] with C a multiple of 4: for each sample, its pixels are `$rows`
 * rows of `$row` bytes. `perPixel(channel)` runs for every 4 channels of every pixel, with `$p`
 * the pixel's byte offset in the sample and `$j` the channel's byte offset in the row.
 */
function overSample(perPixel: string): string {
  return `
  (local.set $p (i32.const 0))
  (block $pixels_done (loop $pixels
   (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $sampleBytes)))
   (local.set $j (i32.const 0))
   (block $channels_done (loop $channels
    (br_if $channels_done (i32.ge_u (local.get $j) (local.get $row)))
    ${perPixel}
    (local.set $j (i32.add (local.get $j) (i32.const 16)))
    (br $channels)))
   (local.set $p (i32.add (local.get $p) (local.get $row)))
   (br $pixels)))`;
}

/** Per-channel vector `base[j]` and pixel vector `base[p + j]`. */
const channelAt = (base: string) => `(i32.add (local.get ${base}) (local.get $j))`;
const pixelAt = (base: string) => `(i32.add (local.get ${base}) (i32.add (local.get $p) (local.get $j)))`;
/** Sets every per-channel vector of `base` to `value`, for $j over one row. */
const overChannels = (body: string) => `
  (local.set $j (i32.const 0))
  (block $row_done (loop $row_loop
   (br_if $row_done (i32.ge_u (local.get $j) (local.get $row)))
   ${body}
   (local.set $j (i32.add (local.get $j) (i32.const 16)))
   (br $row_loop)))`;
/** (leaky) ReLU of `value` when $activate, with slope $alpha below zero. */
const leaky = (value: string) =>
  `(v128.bitselect ${value} (f32x4.mul ${value} (local.get $alpha_v)) (f32x4.gt ${value} (local.get $zero)))`;

const INSTANCE_NORM_LOCALS = `(local $b i32) (local $p i32) (local $j i32) (local $o i32) (local $row i32) (local $sampleBytes i32)
   (local $xs i32) (local $ys i32) (local $zs i32) (local $stat i32) (local $count v128) (local $zero v128) (local $alpha_v v128) (local $value v128)`;

/** Per sample: $xs, $ys, $zs (inputs/outputs of the sample) and $stat (its [C] statistics). */
const perSample = (body: string, tensors: Array<[string, string]>) => `
  (local.set $row (i32.shl (local.get $c) (i32.const 2)))
  (local.set $sampleBytes (i32.mul (local.get $row) (local.get $hw)))
  (local.set $count (f32x4.splat (f32.convert_i32_u (local.get $hw))))
  (local.set $zero (f32x4.splat (f32.const 0)))
  (local.set $alpha_v (f32x4.splat (local.get $alpha)))
  (local.set $b (i32.const 0))
  (block $samples_done (loop $samples
   (br_if $samples_done (i32.ge_u (local.get $b) (local.get $batch)))
   ${tensors.map(([from, to]) => `(local.set ${to} (i32.add (local.get ${from}) (i32.mul (local.get $b) (local.get $sampleBytes))))`).join('\n   ')}
   (local.set $stat (i32.add (local.get $stats) (i32.mul (local.get $b) (local.get $row))))
   ${body}
   (local.set $b (i32.add (local.get $b) (i32.const 1)))
   (br $samples)))`;

/**
 * i8x16.shuffle byte indices for a 4×4 transpose of f32 lanes (lane k is bytes 4k..4k+3; the
 * second operand's lanes are 4..7): interleave two rows' lanes 0-1 or 2-3, then join the low or
 * high halves of two interleaved pairs.
 */
const shuffleBytes = (lanes: number[]) => lanes.flatMap((lane) => [0, 1, 2, 3].map((b) => 4 * lane + b)).join(' ');
const LANES_LOW_PAIRS = shuffleBytes([0, 4, 1, 5]);
const LANES_HIGH_PAIRS = shuffleBytes([2, 6, 3, 7]);
const LANES_LOW_HALVES = shuffleBytes([0, 1, 4, 5]);
const LANES_HIGH_HALVES = shuffleBytes([2, 3, 6, 7]);

function wat(shared: boolean): string {
  return `(module
 (import "env" "memory" (memory 1 ${shared ? '65536 shared' : ''}))

 (func (export "adam") (param $w i32) (param $m i32) (param $v i32) (param $g i32)
  (param $outW i32) (param $outM i32) (param $outV i32) (param $n i32)
  ${ADAM_PARAMS.map((p) => `(param ${p} f32)`).join(' ')}
  (local $o i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128) (local $gs f32) (local $ms f32) (local $vs f32)
  ${ADAM_PARAMS.map((p) => `(local ${p}_v v128)`).join(' ')}
  ${ADAM_PARAMS.map((p) => `(local.set ${p}_v (f32x4.splat (local.get ${p})))`).join('\n  ')}
  (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
  ${byteLoop('vector', '(i32.const 0)', '(local.get $end)', 16, adamBody(VECTOR))}
  ${byteLoop('tail', '(local.get $end)', '(i32.shl (local.get $n) (i32.const 2))', 4, adamBody(SCALAR).replaceAll('$gv', '$gs').replaceAll('$mv', '$ms').replaceAll('$vv', '$vs'))})

 ;; y = (x − μ) / √(σ² + ε) per sample and channel, σ² biased and taken around μ (two passes);
 ;; when $activate, also z = leaky(y) with slope $alpha. $stats receives 1/√(σ² + ε) as [N, C];
 ;; $mean is scratch for C floats.
 (func (export "instanceNorm") (param $x i32) (param $y i32) (param $z i32) (param $stats i32) (param $mean i32)
  (param $batch i32) (param $hw i32) (param $c i32) (param $eps f32) (param $activate i32) (param $alpha f32)
  ${INSTANCE_NORM_LOCALS}
  ${perSample(
    `${overChannels(`(v128.store ${channelAt('$mean')} (local.get $zero)) (v128.store ${channelAt('$stat')} (local.get $zero))`)}
   ${overSample(`(v128.store ${channelAt('$mean')} (f32x4.add (v128.load ${channelAt('$mean')}) (v128.load ${pixelAt('$xs')})))`)}
   ${overChannels(`(v128.store ${channelAt('$mean')} (f32x4.div (v128.load ${channelAt('$mean')}) (local.get $count)))`)}
   ${overSample(`(local.set $value (f32x4.sub (v128.load ${pixelAt('$xs')}) (v128.load ${channelAt('$mean')})))
    (v128.store ${channelAt('$stat')} (f32x4.add (v128.load ${channelAt('$stat')}) (f32x4.mul (local.get $value) (local.get $value))))`)}
   ${overChannels(`(v128.store ${channelAt('$stat')} (f32x4.div (f32x4.splat (f32.const 1))
     (f32x4.sqrt (f32x4.add (f32x4.div (v128.load ${channelAt('$stat')}) (local.get $count)) (f32x4.splat (local.get $eps))))))`)}
   ${overSample(`(local.set $value (f32x4.mul (f32x4.sub (v128.load ${pixelAt('$xs')}) (v128.load ${channelAt('$mean')})) (v128.load ${channelAt('$stat')})))
    (v128.store ${pixelAt('$ys')} (local.get $value))
    (if (local.get $activate) (then (v128.store ${pixelAt('$zs')} ${leaky('(local.get $value)')})))`)}`,
    [
      ['$x', '$xs'],
      ['$y', '$ys'],
      ['$z', '$zs'],
    ],
  )})

 ;; dx = (g − mean(g) − y · mean(g · y)) / σ with g = dy, or g = dy · leaky'(y) when $activate.
 ;; $means is scratch for 2C floats.
 (func (export "instanceNormGrad") (param $dy i32) (param $y i32) (param $dx i32) (param $stats i32) (param $means i32)
  (param $batch i32) (param $hw i32) (param $c i32) (param $activate i32) (param $alpha f32)
  ${INSTANCE_NORM_LOCALS} (local $gy i32) (local $g v128) (local $yv v128)
  ${perSample(
    `(local.set $gy (i32.add (local.get $means) (local.get $row)))
   ${overChannels(`(v128.store ${channelAt('$means')} (local.get $zero)) (v128.store ${channelAt('$gy')} (local.get $zero))`)}
   ${overSample(`${gradientAt()}
    (v128.store ${channelAt('$means')} (f32x4.add (v128.load ${channelAt('$means')}) (local.get $g)))
    (v128.store ${channelAt('$gy')} (f32x4.add (v128.load ${channelAt('$gy')}) (f32x4.mul (local.get $g) (local.get $yv))))`)}
   ${overChannels(`(v128.store ${channelAt('$means')} (f32x4.div (v128.load ${channelAt('$means')}) (local.get $count)))
    (v128.store ${channelAt('$gy')} (f32x4.div (v128.load ${channelAt('$gy')}) (local.get $count)))`)}
   ${overSample(`${gradientAt()}
    (v128.store ${pixelAt('$zs')} (f32x4.mul (v128.load ${channelAt('$stat')})
      (f32x4.sub (f32x4.sub (local.get $g) (v128.load ${channelAt('$means')})) (f32x4.mul (local.get $yv) (v128.load ${channelAt('$gy')})))))`)}`,
    [
      ['$dy', '$xs'],
      ['$y', '$ys'],
      ['$dx', '$zs'],
    ],
  )})

 ;; dst[c][r] = src[r][c] for rows × cols floats; row strides in bytes (the source's may be negative,
 ;; to walk its rows backwards). 4×4 blocks go through registers; the edges element by element.
 (func (export "transpose2d") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $srcRow i32) (param $dstRow i32)
  (local $r i32) (local $c i32) (local $s i32) (local $d i32) (local $rows4 i32) (local $cols4 i32)
  (local $a v128) (local $b v128) (local $e v128) (local $f v128) (local $ab01 v128) (local $ab23 v128) (local $ef01 v128) (local $ef23 v128)
  (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
  (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
  ${countedLoop(
    'rows',
    '$r',
    '(i32.const 0)',
    '(local.get $rows4)',
    4,
    countedLoop(
      'cols',
      '$c',
      '(i32.const 0)',
      '(local.get $cols4)',
      4,
      `(local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $srcRow)) (i32.shl (local.get $c) (i32.const 2)))))
    (local.set $a (v128.load (local.get $s)))
    (local.set $b (v128.load (i32.add (local.get $s) (local.get $srcRow))))
    (local.set $e (v128.load (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 1)))))
    (local.set $f (v128.load (i32.add (local.get $s) (i32.mul (local.get $srcRow) (i32.const 3)))))
    (local.set $ab01 (i8x16.shuffle ${LANES_LOW_PAIRS} (local.get $a) (local.get $b)))
    (local.set $ab23 (i8x16.shuffle ${LANES_HIGH_PAIRS} (local.get $a) (local.get $b)))
    (local.set $ef01 (i8x16.shuffle ${LANES_LOW_PAIRS} (local.get $e) (local.get $f)))
    (local.set $ef23 (i8x16.shuffle ${LANES_HIGH_PAIRS} (local.get $e) (local.get $f)))
    (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $dstRow)) (i32.shl (local.get $r) (i32.const 2)))))
    (v128.store (local.get $d) (i8x16.shuffle ${LANES_LOW_HALVES} (local.get $ab01) (local.get $ef01)))
    (v128.store (i32.add (local.get $d) (local.get $dstRow)) (i8x16.shuffle ${LANES_HIGH_HALVES} (local.get $ab01) (local.get $ef01)))
    (v128.store (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 1))) (i8x16.shuffle ${LANES_LOW_HALVES} (local.get $ab23) (local.get $ef23)))
    (v128.store (i32.add (local.get $d) (i32.mul (local.get $dstRow) (i32.const 3))) (i8x16.shuffle ${LANES_HIGH_HALVES} (local.get $ab23) (local.get $ef23)))`,
    ),
  )}
  (call $transposeElements (local.get $src) (local.get $dst) (i32.const 0) (local.get $rows4) (local.get $cols4) (local.get $cols) (local.get $srcRow) (local.get $dstRow))
  (call $transposeElements (local.get $src) (local.get $dst) (local.get $rows4) (local.get $rows) (i32.const 0) (local.get $cols) (local.get $srcRow) (local.get $dstRow)))

 ;; transpose2d's edges: rows [r0, r1) × columns [c0, c1), one float at a time.
 (func $transposeElements (param $src i32) (param $dst i32) (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32) (param $srcRow i32) (param $dstRow i32)
  (local $r i32) (local $c i32)
  ${countedLoop(
    'rows',
    '$r',
    '(local.get $r0)',
    '(local.get $r1)',
    1,
    countedLoop(
      'cols',
      '$c',
      '(local.get $c0)',
      '(local.get $c1)',
      1,
      `(f32.store (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $dstRow)) (i32.shl (local.get $r) (i32.const 2))))
     (f32.load (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $srcRow)) (i32.shl (local.get $c) (i32.const 2))))))`,
    ),
  )})

 ;; dst[r][c] = src[r][c] for rows × cols floats, cols a multiple of 4, with row strides in bytes.
 (func (export "copy2d") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $srcRow i32) (param $dstRow i32)
  (local $r i32) (local $o i32) (local $s i32) (local $d i32) (local $bytes i32)
  (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
  ${countedLoop(
    'rows',
    '$r',
    '(i32.const 0)',
    '(local.get $rows)',
    1,
    `(local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srcRow))))
   (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $dstRow))))
   ${byteLoop('row', '(i32.const 0)', '(local.get $bytes)', 16, `(v128.store (i32.add (local.get $d) (local.get $o)) (v128.load (i32.add (local.get $s) (local.get $o))))`)}`,
  )})
)`;
}

/** Loads y into $yv and the upstream gradient, through the activation when $activate, into $g. */
function gradientAt(): string {
  return `(local.set $yv (v128.load ${pixelAt('$ys')}))
    (local.set $g (v128.load ${pixelAt('$xs')}))
    (if (local.get $activate) (then
     (local.set $g (v128.bitselect (local.get $g) (f32x4.mul (local.get $g) (local.get $alpha_v)) (f32x4.gt (local.get $yv) (local.get $zero))))))`;
}

interface SimdExports {
  adam(...args: number[]): void;
  instanceNorm(...args: number[]): void;
  instanceNormGrad(...args: number[]): void;
  transpose2d(src: number, dst: number, rows: number, cols: number, srcRow: number, dstRow: number): void;
  copy2d(src: number, dst: number, rows: number, cols: number, srcRow: number, dstRow: number): void;
}

/** Calls per kernel ('adam', 'instanceNorm', 'instanceNormGrad'): tests use it to prove the SIMD path ran. */
export const simdKernelCalls = new Map<string, number>();

const counted = (name: string) => simdKernelCalls.set(name, (simdKernelCalls.get(name) ?? 0) + 1);

/** The compiled kernels bound to one wasm backend's memory. */
export class SimdKernels {
  constructor(
    private readonly backend: BackendWasm,
    private readonly exports: SimdExports,
  ) {}

  /** Heap byte address of a float32 tensor. */
  address(info: TensorInfo): number {
    return this.backend.typedArrayFromHeap(info).byteOffset;
  }

  /**
   * dst[c][r] = src[r][c] for a rows × cols block of floats at heap byte addresses; row strides
   * in bytes, the source's may be negative (its rows walked backwards).
   */
  transpose2d(src: number, dst: number, rows: number, cols: number, srcRowBytes: number, dstRowBytes: number): void {
    this.exports.transpose2d(src, dst, rows, cols, srcRowBytes, dstRowBytes);
  }

  /** dst[r][c] = src[r][c] for a rows × cols block of floats (cols a multiple of 4) at heap byte addresses. */
  copy2d(src: number, dst: number, rows: number, cols: number, srcRowBytes: number, dstRowBytes: number): void {
    this.exports.copy2d(src, dst, rows, cols, srcRowBytes, dstRowBytes);
  }

  /**
   * One Adam step for one variable, into fresh outputs. `d1`, `d2` are 1 − β₁ᵗ and 1 − β₂ᵗ as the
   * stock optimizer's f32 tensors hold them.
   */
  adam(
    tensors: { value: TensorInfo; m: TensorInfo; v: TensorInfo; gradient: TensorInfo },
    outputs: { value: TensorInfo; m: TensorInfo; v: TensorInfo },
    h: { beta1: number; beta2: number; d1: number; d2: number; epsilon: number; learningRate: number },
  ): void {
    const size = tensors.value.shape.reduce((a, b) => a * b, 1);
    counted('adam');
    this.exports.adam(
      ...[tensors.value, tensors.m, tensors.v, tensors.gradient, outputs.value, outputs.m, outputs.v].map((t) => this.address(t)),
      size,
      h.beta1,
      1 - h.beta1,
      h.beta2,
      1 - h.beta2,
      h.d1,
      h.d2,
      h.epsilon,
      -h.learningRate,
    );
  }

  /** Instance norm of x [N, H, W, C] (C % 4 = 0) into y, z = leaky(y) when `alpha` is given, 1/σ into invStd. */
  instanceNorm(
    x: TensorInfo,
    y: TensorInfo,
    z: TensorInfo | undefined,
    invStd: TensorInfo,
    scratch: TensorInfo,
    epsilon: number,
    alpha?: number,
  ): void {
    const [batch, height, width, channels] = x.shape as [number, number, number, number];
    counted('instanceNorm');
    this.exports.instanceNorm(
      this.address(x),
      this.address(y),
      z ? this.address(z) : 0,
      this.address(invStd),
      this.address(scratch),
      batch,
      height * width,
      channels,
      epsilon,
      alpha === undefined ? 0 : 1,
      alpha ?? 0,
    );
  }

  /** dx of instanceNorm (through leaky with slope `alpha` when given); scratch holds 2C floats. */
  instanceNormGrad(dy: TensorInfo, y: TensorInfo, invStd: TensorInfo, dx: TensorInfo, scratch: TensorInfo, alpha?: number): void {
    const [batch, height, width, channels] = dy.shape as [number, number, number, number];
    counted('instanceNormGrad');
    this.exports.instanceNormGrad(
      this.address(dy),
      this.address(y),
      this.address(dx),
      this.address(invStd),
      this.address(scratch),
      batch,
      height * width,
      channels,
      alpha === undefined ? 0 : 1,
      alpha ?? 0,
    );
  }
}

let loaded: { backend: BackendWasm; kernels: SimdKernels } | undefined;

/** Compiles the module against this backend's memory, once per backend instance. */
export async function loadSimdKernels(backend: BackendWasm): Promise<SimdKernels> {
  if (loaded?.backend === backend) return loaded.kernels;
  const memory = (backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const toolkit = await wabt();
  const parsed = toolkit.parseWat('training-simd-kernels.wat', wat(shared), { simd: true, threads: shared });
  try {
    const binary = new Uint8Array(parsed.toBinary({}).buffer);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory } });
    loaded = { backend, kernels: new SimdKernels(backend, instance.exports as unknown as SimdExports) };
    return loaded.kernels;
  } finally {
    parsed.destroy();
  }
}

/** The kernels for this backend if loadSimdKernels ran for it. */
export function simdKernelsFor(backend: BackendWasm): SimdKernels | undefined {
  return loaded?.backend === backend ? loaded.kernels : undefined;
}

/**
 * Execution-provider choice for onnxruntime sessions. DEVICE=cpu and DEVICE=cuda ask for one
 * provider; DEVICE=auto tries CUDA and falls back to CPU. onnxruntime-node 1.30 takes only the
 * device id for CUDA, and a session asked for ['cuda', 'cpu'] does not fall back by itself when
 * the CUDA provider library cannot load (it throws "OrtSessionOptionsAppendExecutionProvider_Cuda:
 * Failed to load shared library"), so the fallback is done here, by retrying on CPU.
 */
import { existsSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import type { Device, DeviceSetting } from '../config.ts';

const { onnx } = onnxProto;

/** The session's executionProviders for one concrete provider. */
export function executionProviders(device: Device, deviceId: number): ort.InferenceSession.SessionOptions['executionProviders'] {
  return device === 'cuda' ? [{ name: 'cuda', deviceId }] : ['cpu'];
}

/**
 * The session options every inference session uses: the workers' and the benchmarks' raw
 * onnxruntime ceilings alike, so a ratio between them compares like with like.
 */
export function sessionOptions(intraOpThreads: number, device: Device = 'cpu', cudaDeviceId = 0): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(device, cudaDeviceId),
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Spinning intra-op threads would steal the cores the event loop and the other workers need.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** Where the NVIDIA kernel driver shows itself on Linux; without it CUDA cannot run. */
const NVIDIA_DRIVER_PATHS = ['/proc/driver/nvidia/version', '/dev/nvidiactl'];

export function nvidiaDriverPresent(paths: string[] = NVIDIA_DRIVER_PATHS): boolean {
  return paths.some((driverPath) => existsSync(driverPath));
}

/**
 * DEVICE=auto on a machine without an NVIDIA driver is simply the CPU: CUDA is not even tried,
 * so a laptop's `npm start` shows no provider-load error. Other settings stay as they are.
 */
export function settleDeviceSetting(setting: DeviceSetting, driverPresent: boolean = nvidiaDriverPresent()): DeviceSetting {
  return setting === 'auto' && !driverPresent ? 'cpu' : setting;
}

/** The providers to try, in order, for a DEVICE setting. */
export function providerCandidates(setting: DeviceSetting): Device[] {
  return setting === 'auto' ? ['cuda', 'cpu'] : [setting];
}

/** DEVICE=cuda, and the CUDA provider cannot load: the server must not start on CPU silently. */
export class DeviceUnavailableError extends Error {
  constructor(reason: string) {
    super(
      `DEVICE=cuda, but onnxruntime's CUDA execution provider cannot be loaded: ${reason}. ` +
        'It needs an NVIDIA GPU, CUDA 12 + cuDNN 9, and onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12; ' +
        'set DEVICE=auto to fall back to the CPU, or DEVICE=cpu.',
    );
    this.name = 'DeviceUnavailableError';
  }
}

/** A one-node Identity model, for checking that a provider can create a session at all. */
export function probeModel(): Uint8Array {
  const tensor = { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'ganserve-probe',
    opsetImport: [{ domain: '', version: 15 }],
    graph: {
      name: 'probe',
      node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      input: [{ name: 'x', type: tensor }],
      output: [{ name: 'y', type: tensor }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Execution-provider choice for onnxruntime sessions. DEVICE=cpu, cuda and webgpu ask for one
 * provider; DEVICE=auto tries CUDA, then WebGPU, then the CPU. onnxruntime-node 1.30 takes only
 * the device id for CUDA, and a session asked for ['cuda', 'cpu'] does not fall back by itself when
 * the CUDA provider library cannot load (it throws "OrtSessionOptionsAppendExecutionProvider_Cuda:
 * Failed to load shared library"); WebGPU without an adapter throws "Failed to get a WebGPU
 * adapter". So the fallback is done here, by retrying on the next provider.
 */
import { existsSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import type { Device, DeviceSetting } from './contract.ts';

const { onnx } = onnxProto;

/** The session's executionProviders for one concrete provider. */
export function executionProviders(device: Device, deviceId: number): ort.InferenceSession.SessionOptions['executionProviders'] {
  return device === 'cuda' ? [{ name: 'cuda', deviceId }] : [device];
}

/**
 * The session options every inference session uses: the workers' and the benchmarks' raw
 * onnxruntime ceilings alike, so a ratio between them compares like with like.
 */
export function sessionOptions(intraOpThreads: number, device: Device = 'cpu', cudaDeviceId = 0): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(device, cudaDeviceId),
    // On WebGPU, onnxruntime warns at every session that shape ops stay on the CPU, by design.
    ...(device === 'webgpu' ? { logSeverityLevel: 3 as const } : {}),
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
  return setting === 'auto' ? ['cuda', 'webgpu', 'cpu'] : [setting];
}

/** Names for log lines: 'CUDA', 'WebGPU', 'the CPU'. */
export const DEVICE_LABELS: Record<Device, string> = { cuda: 'CUDA', webgpu: 'WebGPU', cpu: 'the CPU' };

const REQUIREMENTS: Record<Exclude<Device, 'cpu'>, string> = {
  cuda: 'It needs an NVIDIA GPU, CUDA 12 + cuDNN 9, and onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12',
  webgpu: "It needs a GPU with a Vulkan driver: on Linux the Vulkan loader (libvulkan1) and the vendor's Vulkan ICD",
};

/** DEVICE=cuda or webgpu, and that provider cannot load: the server must not start on the CPU silently. */
export class DeviceUnavailableError extends Error {
  constructor(device: Exclude<Device, 'cpu'>, reason: string) {
    super(
      `DEVICE=${device}, but onnxruntime's ${DEVICE_LABELS[device]} execution provider cannot be loaded: ${reason.trim()}. ` +
        `${REQUIREMENTS[device]}; set DEVICE=auto to fall back to the CPU, or DEVICE=cpu.`,
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

/**
 * One inference worker thread: it owns one onnxruntime session per loaded model and runs them
 * synchronously here, off the main event loop (onnxruntime-node's session.run blocks its thread).
 * Image models get pixels and give pixels back: the float conversions, milliseconds per image,
 * run here too, so they never hold up the event loop. Likewise, generators can have their output
 * rows encoded as PNG here (see RowEncoding).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { upscaleNearest } from '../imaging/grid.ts';
import { PixelKernels } from '../imaging/pixel-kernels.ts';
import { encodePng } from '../imaging/png.ts';
import { outputRowToImage } from '../imaging/rows.ts';
import { lapTimer } from '../observability/laps.ts';
import { DeviceLock } from './device-lock.ts';
import { probeModel, providerCandidates, sessionOptions } from './device.ts';
import type { Device, InputTensor, OutputTensor, RowEncoding, SessionInfo, SkippedProvider } from './contract.ts';
import type { EncodedRows, SessionSettings, WorkerData, WorkerReply, WorkerRequest } from './protocol.ts';

if (!parentPort) throw new Error('server/inference/worker.ts must run in a worker thread');
const port = parentPort;
/**
 * Each model's sessions: `shared`, with the worker's share of the cores, and, in the pool's first
 * worker on the CPU, `solo`, with every core the pool has, for a run that starts while no other
 * run is in flight.
 */
interface ModelSessions {
  shared: SessionWithThreads;
  solo?: SessionWithThreads;
}
interface SessionWithThreads {
  session: ort.InferenceSession;
  /** Its intra-op threads, reported with each run. */
  threads: number;
}
const sessions = new Map<string, ModelSessions>();
/** The pixel ↔ tensor conversions; their memory holds the current image, run after run. */
const kernels = await PixelKernels.load();
/**
 * With DEVICE=auto: the providers that could not be used in this worker, and why, so each is
 * tried once rather than for every model.
 */
const unusable: SkippedProvider[] = [];
/** Shared by every inference worker of the process (see DeviceLock). */
const deviceLock = new DeviceLock((workerData as WorkerData).deviceLock);
/** Sessions on WebGPU: their create, run and release take the device lock. */
const webgpuSessions = new WeakSet<ort.InferenceSession>();

/** Runs an onnxruntime call, holding the device lock when it touches a WebGPU session. */
function onDevice<T>(needsLock: boolean, call: () => Promise<T>): Promise<T> {
  return needsLock ? deviceLock.hold(call) : call();
}

/** session.run, through the device lock where needed; runMs is onnxruntime's own time, without the wait for the lock. */
function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  outputs: readonly string[],
): Promise<{ results: ort.InferenceSession.ReturnType; runMs: number }> {
  return onDevice(webgpuSessions.has(session), async () => {
    const started = performance.now();
    const results = await session.run(feeds, outputs);
    return { results, runMs: performance.now() - started };
  });
}

function release(session: ort.InferenceSession | undefined): Promise<void> {
  return session ? onDevice(webgpuSessions.has(session), () => session.release()) : Promise.resolve();
}

function feedsOf(tensors: Record<string, InputTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
}

/** ORT output → a float32 array that owns its whole buffer, so the buffer can be transferred back. */
function toOutput(tensor: ort.Tensor): OutputTensor {
  const dims = [...tensor.dims];
  const data = tensor.data;
  if (data instanceof Float32Array) {
    // onnxruntime-node returns a fresh, whole buffer; a view would be copied (memcpy) first.
    return { data: data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice(), dims };
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return { data: Float32Array.from(data, Number), dims };
  if (ArrayBuffer.isView(data)) return { data: Float32Array.from(data as unknown as ArrayLike<number>), dims };
  throw new Error(`output of type ${tensor.type} cannot be returned as float32`);
}

/**
 * Creates the session on the first provider of the setting that loads. With DEVICE=auto a failure
 * moves on to the next provider (CUDA → WebGPU → CPU), and the session reports the ones skipped;
 * with a single provider asked for, the failure is thrown.
 */
async function createSession(
  model: string | Uint8Array,
  settings: SessionSettings,
): Promise<{ session: ort.InferenceSession; provider: Device; skipped: SkippedProvider[] }> {
  const auto = settings.device === 'auto';
  const candidates = providerCandidates(settings.device).filter((device) => !(auto && unusable.some((u) => u.provider === device)));
  for (const device of candidates) {
    try {
      const session = await onDevice(device === 'webgpu', () =>
        ort.InferenceSession.create(model as Uint8Array, sessionOptions(settings.intraOpThreads, device, settings.cudaDeviceId)),
      );
      if (device === 'webgpu') webgpuSessions.add(session);
      return { session, provider: device, skipped: auto ? [...unusable] : [] };
    } catch (err) {
      if (!auto || device === 'cpu') throw err;
      unusable.push({ provider: device, reason: (err instanceof Error ? err.message : String(err)).trim() });
    }
  }
  throw new Error(`no execution provider could be loaded for DEVICE=${settings.device}`);
}

/** The session to run: the solo one when asked for and there is one. */
function loadedSession(model: string, solo = false): SessionWithThreads {
  const entry = sessions.get(model);
  if (!entry) throw new Error(`model "${model}" is not loaded in this worker`);
  return (solo && entry.solo) || entry.shared;
}

async function releaseModel(model: string): Promise<void> {
  const entry = sessions.get(model);
  sessions.delete(model);
  await release(entry?.shared.session);
  await release(entry?.solo?.session);
}

/** PNGs of the rows asked for (see RowEncoding), in one buffer of their own. */
async function encodeRows(outputs: Record<string, OutputTensor>, encoding: RowEncoding): Promise<EncodedRows> {
  const output = outputs[encoding.output];
  if (output === undefined) throw new Error(`the model returned no output "${encoding.output}"`);
  if (encoding.scales.length !== output.dims[0]) throw new Error(`${encoding.scales.length} row scales for ${output.dims[0]} rows`);
  const started = performance.now();
  const pngs = await Promise.all(
    encoding.scales.map((scale, row) =>
      scale > 0 ? encodePng(upscaleNearest(outputRowToImage(output, row, encoding.layout, encoding.range), scale)) : null,
    ),
  );
  const data = new Uint8Array(pngs.reduce((sum, png) => sum + (png?.length ?? 0), 0));
  const ends: number[] = [];
  let end = 0;
  for (const png of pngs) {
    if (png) data.set(png, end);
    end += png?.length ?? 0;
    ends.push(end);
  }
  return { data, ends, encodeMs: performance.now() - started };
}

async function handle(request: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'load': {
      const { settings } = request;
      const { session, provider, skipped } = await createSession(request.onnxPath, settings);
      // Intra-op threads matter on the CPU only; a GPU session gets no solo twin.
      const soloThreads = provider === 'cpu' && settings.soloThreads > settings.intraOpThreads ? settings.soloThreads : undefined;
      const solo =
        soloThreads === undefined
          ? undefined
          : {
              session: (await createSession(request.onnxPath, { ...settings, device: 'cpu', intraOpThreads: soloThreads })).session,
              threads: soloThreads,
            };
      await releaseModel(request.model);
      sessions.set(request.model, { shared: { session, threads: settings.intraOpThreads }, solo });
      const info: SessionInfo = {
        inputNames: [...session.inputNames],
        inputShapes: Object.fromEntries(session.inputMetadata.map((input) => [input.name, input.isTensor ? [...input.shape] : []])),
        outputNames: [...session.outputNames],
        provider,
        ...(soloThreads !== undefined ? { soloThreads } : {}),
        ...(skipped.length > 0 ? { skipped } : {}),
      };
      return { reply: { kind: 'loaded', id: request.id, info }, transfer: [] };
    }
    case 'run': {
      const { session, threads } = loadedSession(request.model, request.solo);
      const feeds = feedsOf(request.feeds);
      const { results, runMs } = await runSession(session, feeds, request.outputs ?? session.outputNames);
      const outputs: Record<string, OutputTensor> = {};
      for (const [name, tensor] of Object.entries(results)) outputs[name] = toOutput(tensor);
      for (const tensor of Object.values(feeds)) tensor.dispose();
      const encoded = request.encodeRows ? await encodeRows(outputs, request.encodeRows) : undefined;
      const transfer = [...new Set(Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer))];
      if (encoded) transfer.push(encoded.data.buffer as ArrayBuffer);
      return { reply: { kind: 'result', id: request.id, outputs, runMs, threads, ...(encoded ? { encoded } : {}) }, transfer };
    }
    case 'translate': {
      const { session, threads } = loadedSession(request.model, request.solo);
      const { image, input, output } = request;
      const lap = lapTimer();
      const tensor = kernels.toTensor(image, input.layout, input.range, input.channels);
      const toTensorMs = lap();
      const feed = new ort.Tensor('float32', tensor.data, tensor.dims);
      let run;
      try {
        run = await runSession(session, { [input.name]: feed }, [output.name]);
      } finally {
        feed.dispose();
      }
      const { runMs } = run;
      const produced = run.results[output.name];
      lap(); // from-tensor time starts here
      if (produced === undefined) throw new Error(`the model returned no output "${output.name}"`);
      let pixels;
      try {
        // Other numeric outputs (a graph that ends in uint8, say) are read as float32 first.
        // Into the request's own buffer, which goes back to the pool to be used again.
        pixels = kernels.fromTensor(toOutput(produced), output.layout, output.range, image.data.buffer as ArrayBuffer);
      } catch (err) {
        throw new Error(`the model returned an unusable output: ${(err as Error).message}`);
      }
      const fromTensorMs = lap();
      const reply: WorkerReply = { kind: 'translated', id: request.id, image: pixels, toTensorMs, runMs, threads, fromTensorMs };
      return { reply, transfer: [pixels.data.buffer as ArrayBuffer] };
    }
    case 'probe': {
      const { session, provider, skipped } = await createSession(probeModel(), request.settings);
      await release(session);
      const info: SessionInfo = { inputNames: [], inputShapes: {}, outputNames: [], provider, ...(skipped.length > 0 ? { skipped } : {}) };
      return { reply: { kind: 'probed', id: request.id, info }, transfer: [] };
    }
    case 'unload': {
      await releaseModel(request.model);
      return { reply: { kind: 'unloaded', id: request.id }, transfer: [] };
    }
  }
}

port.on('message', (request: WorkerRequest) => {
  handle(request).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (err: unknown) =>
      port.postMessage({ kind: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});

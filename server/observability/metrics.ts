/**
 * Prometheus metrics, named after Triton's `nv_inference_*` set with a `ganserve_` prefix. Each
 * app owns its own Registry (tests start several servers in one process, and prom-client's global
 * registry would refuse the second set of metrics).
 *
 * Latency is split where the time goes: waiting for a worker (queue), the worker's run
 * (inference, including the buffer hand-over), and turning pixels into PNG/JPEG/WebP (encode).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: 1 ms .. 30 s, roughly ×2.5 apart. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Rows in one onnxruntime run. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/** `photo2anime@2` (a reloaded version's sessions in the pool) → `photo2anime`. */
function modelOfPoolKey(key: string): string {
  const at = key.indexOf('@');
  return at < 0 ? key : key.slice(0, at);
}

/** Where the inference pool reports each run it finished. */
export interface RunObserver {
  onRun(run: { model: string; rows: number; queueSeconds: number; inferenceSeconds: number; ok: boolean }): void;
}

export class ServerMetrics implements RunObserver {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'endpoint' | 'status'>;
  readonly requestDuration: Histogram<'model' | 'endpoint'>;
  readonly queueDuration: Histogram<'model'>;
  readonly batchWaitDuration: Histogram<'model'>;
  readonly inferenceDuration: Histogram<'model'>;
  readonly encodeDuration: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly inferenceRuns: Counter<'model' | 'outcome'>;

  /** `queueDepth(model names)` is read at scrape time, so the gauge is never stale. */
  constructor(queueDepth: () => Array<{ model: string; queued: number; running: number }>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ganserve_' });
    this.requests = new Counter({
      name: 'ganserve_inference_request_total',
      help: 'HTTP requests by model, endpoint and response status',
      labelNames: ['model', 'endpoint', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'ganserve_request_duration_seconds',
      help: 'Whole HTTP request time, from the first byte read to the last byte written',
      labelNames: ['model', 'endpoint'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'ganserve_inference_queue_duration_seconds',
      help: 'Time a run waited in the pool queue for a free worker',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchWaitDuration = new Histogram({
      name: 'ganserve_batch_wait_duration_seconds',
      help: 'Time a generate request waited in the dynamic batcher before its batch went to the pool queue',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: 'ganserve_inference_compute_duration_seconds',
      help: 'Time of one onnxruntime run in a worker, including the tensor hand-over',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.encodeDuration = new Histogram({
      name: 'ganserve_encode_duration_seconds',
      help: 'Time spent encoding output images (PNG/JPEG/WebP, grids, base64)',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ganserve_inference_batch_size',
      help: 'Rows (images) per onnxruntime run',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.inferenceRuns = new Counter({
      name: 'ganserve_inference_exec_total',
      help: 'onnxruntime runs by model and outcome (success, failure)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'ganserve_inference_queue_depth',
      help: 'Runs waiting for a worker, per model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const { model, queued } of queueDepth()) this.inc({ model: modelOfPoolKey(model) }, queued);
      },
    });
    new Gauge({
      name: 'ganserve_inference_running',
      help: 'Runs executing in a worker now, per model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const { model, running } of queueDepth()) this.inc({ model: modelOfPoolKey(model) }, running);
      },
    });
  }

  onRun(run: { model: string; rows: number; queueSeconds: number; inferenceSeconds: number; ok: boolean }): void {
    const model = modelOfPoolKey(run.model);
    const labels = { model };
    this.queueDuration.observe(labels, run.queueSeconds);
    this.inferenceRuns.inc({ model, outcome: run.ok ? 'success' : 'failure' });
    if (!run.ok) return;
    this.inferenceDuration.observe(labels, run.inferenceSeconds);
    this.batchSize.observe(labels, run.rows);
  }
}

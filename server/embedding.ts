/**
 * The server's machinery, for programs that run it inside their own process: the batch CLI's
 * in-process mode (scripts/batch/local-runner.ts) and the benchmarks. Only scripts/ may import it
 * (training/ uses server/shared.ts); dependency-cruiser enforces that.
 */
export { type Config, loadConfig } from './config.ts';
export { encodeGenerated } from './generation/render.ts';
export { Generator } from './generation/generator.ts';
export { DynamicBatcher } from './inference/batcher.ts';
export { DEFAULT_BATCHING, resolveBatching } from './inference/batching-settings.ts';
export type { Device, ImageInputSpec, ImageOutputSpec, InputTensor, SessionInfo } from './inference/contract.ts';
export { sessionOptions, settleDeviceSetting } from './inference/device.ts';
export { InferencePool } from './inference/pool.ts';
export { createLogger } from './log.ts';
export { ModelRepository, type SessionLoader } from './models/repository.ts';
export { servableModel } from './models/servable.ts';
export { type TranslateModel, translateImage } from './pipeline/translate.ts';
export { startServer } from './server.ts';

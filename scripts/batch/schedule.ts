/**
 * Runs the plan's jobs with a fixed number in flight: each job converts, then writes its output
 * atomically. A failing file is recorded and the run carries on. When `stop` is aborted (Ctrl-C),
 * no new job starts; those in flight finish and the rest are recorded as not run.
 */
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { errorMessage, type Converter } from './converter.ts';
import type { Job } from './plan.ts';
import type { Counts, Progress } from './progress.ts';
import { countResults, type FileResult } from './report.ts';

export interface ScheduleOptions {
  concurrency: number;
  outputDir: string;
  progress?: Progress;
  stop?: AbortSignal;
}

export async function runJobs(jobs: Job[], converter: Converter, options: ScheduleOptions): Promise<FileResult[]> {
  const results: FileResult[] = jobs.map((job) => ({
    name: job.name,
    output: path.relative(options.outputDir, job.output).split(path.sep).join('/'),
    ...job.details,
    status: job.outcome?.status ?? 'not-run',
    ...(job.outcome?.status === 'failed' ? { error: job.outcome.error } : {}),
    ms: 0,
  }));
  // Counted once, then kept up to date per finished job (recounting would be quadratic).
  const counts: Counts = countResults(results);
  options.progress?.update({ ...counts });

  const pending = jobs.map((_, index) => index).filter((index) => jobs[index]!.outcome === undefined);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < pending.length && !options.stop?.aborted) {
      const index = pending[next++]!;
      const job = jobs[index]!;
      const result = results[index]!;
      const started = performance.now();
      try {
        const converted = await converter.convert(job.task);
        await writeFileAtomic(job.output, converted.body);
        result.status = 'converted';
        if (converted.server !== undefined) result.server = converted.server;
        if (converted.retries !== undefined) result.retries = converted.retries;
        counts.converted += 1;
      } catch (err) {
        result.status = 'failed';
        result.error = errorMessage(err);
        counts.failed += 1;
      }
      result.ms = Math.round(performance.now() - started);
      options.progress?.update({ ...counts });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, pending.length)) }, lane));
  return results;
}

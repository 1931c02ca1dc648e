/**
 * The batch CLI as a function: arguments → plan → convert (in-process or on servers) → report →
 * exit status: 0 every file converted or already there, 1 some failed (or the model could not be
 * loaded / no server answered), 2 usage error, 130 stopped by Ctrl-C before every file was tried.
 * scripts/batch.ts only calls this and exits with its result.
 */
import { promises as fs } from 'node:fs';
import { parseBatchArgs, USAGE, UsageError, type BatchCommand } from './args.ts';
import { removeStaleTemps } from './atomic-write.ts';
import { errorMessage } from './converter.ts';
import { prepareLocal } from './local-runner.ts';
import { planGenerate, planTranslate } from './plan.ts';
import { createProgress } from './progress.ts';
import { prepareRemote } from './remote-runner.ts';
import { countResults, formatSummary, writeReport, type BatchReport } from './report.ts';
import { runJobs } from './schedule.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURES = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, the shell's convention for a run stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  try {
    const parsed = parseBatchArgs(argv);
    if (parsed.kind === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    return await run(parsed.command, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`batch: ${err.message}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`batch: ${errorMessage(err)}\n`);
    return EXIT_FAILURES;
  }
}

async function run(command: BatchCommand, io: CliIo): Promise<number> {
  const startedAt = new Date();
  // Every usage mistake (input, model, labels, prompt) is found before workers start.
  const prepared = command.servers.length > 0 ? await prepareRemote(command) : await prepareLocal(command, io.env);
  const { jobs, ignored } = command.kind === 'translate' ? await planTranslate(command) : await planGenerate(command, prepared.summary);
  const converter = await prepared.start();
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: leave now
    io.stderr.write(`\nbatch: ${signal}: finishing the files in flight (again to quit at once)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await fs.mkdir(command.output, { recursive: true });
    const staleTemps = await removeStaleTemps(command.output);
    const toDo = jobs.filter((job) => job.outcome === undefined).length;
    io.stderr.write(
      `batch ${command.kind} ${command.model}: ${jobs.length} files, ${toDo} to convert, ${jobs.length - toDo} already done or clashing` +
        (ignored.length > 0 ? `, ${ignored.length} non-image files ignored` : '') +
        (staleTemps > 0 ? `, ${staleTemps} temp files of an interrupted run removed` : '') +
        `; ${converter.description}\n`,
    );
    const progress = createProgress(jobs.length, io.stderr);
    const began = performance.now();
    let results;
    try {
      results = await runJobs(jobs, converter, {
        concurrency: command.concurrency ?? converter.defaultConcurrency,
        outputDir: command.output,
        progress,
        stop: stop.signal,
      });
    } finally {
      progress.stop();
    }
    const durationMs = Math.round(performance.now() - began);
    const counts = countResults(results);
    const interrupted = counts.notRun > 0;
    const report: BatchReport = {
      command: command.kind,
      model: command.model,
      ...(command.kind === 'translate' ? { input: command.input } : {}),
      output: command.output,
      runner: converter.description,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs,
      filesPerSecond: durationMs > 0 ? Math.round((counts.converted / durationMs) * 1e5) / 100 : 0,
      ...(interrupted ? { interrupted: true } : {}),
      totals: { ...counts, total: results.length, ignored: ignored.length },
      files: results,
    };
    await writeReport(command.output, report);
    io.stdout.write(`${formatSummary(report)}\n`);
    if (interrupted) return EXIT_INTERRUPTED;
    return counts.failed > 0 ? EXIT_FAILURES : EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await converter.close();
  }
}

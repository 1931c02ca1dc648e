/**
 * The run's record: `OUTPUT/batch-report.json` (every file's status, error and time) and the
 * summary printed at the end. The report is written atomically like the images, so a reader never
 * sees half of it.
 */
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import type { Counts } from './progress.ts';
import { formatDuration } from './progress.ts';
import { REPORT_FILE } from './plan.ts';

export type FileStatus = 'converted' | 'skipped' | 'failed' | 'not-run';

export interface FileResult {
  /** The input's path relative to the input folder, or `<folder>/<seed>` for generated images. */
  name: string;
  /** Output path relative to the output folder, '/'-separated. */
  output: string;
  status: FileStatus;
  error?: string;
  /** Wall time of this file (read, convert, write); 0 for files not converted in this run. */
  ms: number;
  /** Server that converted it (remote runs). */
  server?: string;
  /** Retryable failures (connection errors, 503s) before it converted (remote runs). */
  retries?: number;
  [detail: string]: unknown;
}

export interface BatchReport {
  command: string;
  model: string;
  input?: string;
  output: string;
  runner: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Converted files per second of wall time. */
  filesPerSecond: number;
  /** Set when the run was interrupted (SIGINT/SIGTERM) before every file was tried. */
  interrupted?: boolean;
  totals: Counts & { notRun: number; total: number; ignored: number };
  files: FileResult[];
}

export function countResults(results: FileResult[]): Counts & { notRun: number } {
  const counts = { converted: 0, skipped: 0, failed: 0, notRun: 0 };
  for (const result of results) {
    if (result.status === 'not-run') counts.notRun += 1;
    else counts[result.status] += 1;
  }
  return counts;
}

export function writeReport(outputDir: string, report: BatchReport): Promise<void> {
  return writeFileAtomic(path.join(outputDir, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
}

/** The end-of-run summary: totals, throughput, then each failure with its reason. */
export function formatSummary(report: BatchReport, maxFailuresListed = 20): string {
  const t = report.totals;
  const lines = [
    `${report.command} ${report.model}: ${t.converted} converted, ${t.skipped} skipped (already there), ${t.failed} failed` +
      (t.notRun > 0 ? `, ${t.notRun} not run (interrupted)` : '') +
      (t.ignored > 0 ? `; ${t.ignored} non-image files ignored` : ''),
    `${t.total} files in ${formatDuration(report.durationMs / 1000)} (${report.filesPerSecond.toFixed(2)} converted files/s), ${report.runner}`,
  ];
  const failures = report.files.filter((f) => f.status === 'failed');
  for (const failure of failures.slice(0, maxFailuresListed)) lines.push(`  failed: ${failure.name}: ${failure.error}`);
  if (failures.length > maxFailuresListed) lines.push(`  … and ${failures.length - maxFailuresListed} more failures`);
  lines.push(`report: ${path.join(report.output, REPORT_FILE)}`);
  return lines.join('\n');
}

/**
 * Progress on stderr: a cli-progress bar on a TTY (files done / total, files/s, ETA), and plain
 * lines every few seconds otherwise (logs, CI, pipes), so a long run never looks hung.
 */
import cliProgress from 'cli-progress';

export interface Counts {
  converted: number;
  skipped: number;
  failed: number;
}

export interface Progress {
  /** One job finished (converted, skipped or failed). */
  update(counts: Counts): void;
  stop(): void;
}

/** Converted files per second since the start (skipped files cost nothing, so they do not count). */
function rate(counts: Counts, startedAt: number): number {
  const seconds = (performance.now() - startedAt) / 1000;
  return seconds > 0 ? (counts.converted + counts.failed) / seconds : 0;
}

function etaSeconds(counts: Counts, total: number, startedAt: number): number | null {
  const perSecond = rate(counts, startedAt);
  const left = total - counts.converted - counts.skipped - counts.failed;
  return perSecond > 0 ? Math.round(left / perSecond) : null;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function createProgress(total: number, stream: NodeJS.WriteStream = process.stderr, intervalMs = 5000): Progress {
  return stream.isTTY ? new BarProgress(total, stream) : new LineProgress(total, stream, intervalMs);
}

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private readonly startedAt = performance.now();

  constructor(
    private readonly total: number,
    stream: NodeJS.WriteStream,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{bar} {value}/{total} files | {rate} files/s | ETA {timeLeft} | {failed} failed, {skipped} skipped',
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { rate: '0.0', timeLeft: '?', failed: 0, skipped: 0 });
  }

  update(counts: Counts): void {
    this.bar.update(counts.converted + counts.skipped + counts.failed, {
      rate: rate(counts, this.startedAt).toFixed(1),
      timeLeft: formatDuration(etaSeconds(counts, this.total, this.startedAt)),
      failed: counts.failed,
      skipped: counts.skipped,
    });
  }

  stop(): void {
    this.bar.stop();
  }
}

class LineProgress implements Progress {
  private readonly startedAt = performance.now();
  private latest: Counts = { converted: 0, skipped: 0, failed: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.print(), intervalMs);
    this.timer.unref();
  }

  update(counts: Counts): void {
    this.latest = counts;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private print(): void {
    const c = this.latest;
    const done = c.converted + c.skipped + c.failed;
    const eta = formatDuration(etaSeconds(c, this.total, this.startedAt));
    this.stream.write(
      `batch: ${done}/${this.total} files (${c.converted} converted, ${c.skipped} skipped, ${c.failed} failed), ${rate(c, this.startedAt).toFixed(1)} files/s, ETA ${eta}\n`,
    );
  }
}

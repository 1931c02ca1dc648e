/** What a training run prints while it runs: a progress bar on a terminal, plain lines otherwise. */
import cliProgress from 'cli-progress';

/** 'auto': a bar on a TTY, lines otherwise; 'silent' for tests. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'silent';

export interface Progress {
  update(step: number, total: number, losses: Record<string, number>, imagesPerSecond: number, epoch: number): void;
  stop(): void;
}

function formatLosses(losses: Record<string, number>): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k}=${v.toFixed(4)}`)
    .join(' ');
}

/** A cli-progress bar on a TTY; plain lines (one per log interval) otherwise, e.g. under nohup. */
export function createProgress(mode: ProgressMode, total: number, start: number): Progress {
  const resolved = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'silent') return { update() {}, stop() {} };
  if (resolved === 'lines') {
    return {
      update(step, totalSteps, losses, imagesPerSecond, epoch) {
        console.log(`step ${step}/${totalSteps} epoch ${epoch.toFixed(2)} ${formatLosses(losses)} ${imagesPerSecond.toFixed(1)} img/s`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: '{bar} {value}/{total} | epoch {epoch} | {losses} | {ips} img/s | ETA {eta_formatted}', etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { losses: '', ips: '-', epoch: '0' });
  return {
    update(step, totalSteps, losses, imagesPerSecond, epoch) {
      bar.setTotal(totalSteps);
      bar.update(step, { losses: formatLosses(losses), ips: imagesPerSecond.toFixed(1), epoch: epoch.toFixed(2) });
    },
    stop() {
      bar.stop();
    },
  };
}

import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

/**
 * cli-progress, loaded when the first TTY bar starts (a one-pair `tesg fuse` draws none), through
 * require(): an ESM import of this CommonJS package would cost every command's start-up about 10 ms
 * (Node's CommonJS export lexer and the load).
 */
let cliProgressModule: typeof CliProgress | undefined;
function cliProgress(): typeof CliProgress {
  return (cliProgressModule ??= createRequire(import.meta.url)('cli-progress') as typeof CliProgress);
}

/**
 * Progress for long work. On a TTY: a live bar with count, rate and ETA (cli-progress).
 * Otherwise (CI, pipes, logs): quiet and line-based, one line roughly every `lineEverySec` seconds
 * and one at the end, so logs stay short and greppable.
 */
export interface Progress {
  tick(n?: number, info?: string): void;
  done(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Force a mode; default: TTY bar when stderr is a TTY. */
  tty?: boolean;
  /** Minimum seconds between plain lines (non-TTY). */
  lineEverySec?: number;
  /** Where plain lines go (default stderr). */
  write?: (line: string) => void;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const start = Date.now();
  let count = 0;
  if (tty) {
    const { SingleBar, Presets } = cliProgress();
    const bar = new SingleBar(
      {
        format: `${opts.label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} {info}`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(opts.total, 0, { rate: '0.0', info: '' });
    return {
      tick(n = 1, info = '') {
        count += n;
        const rate = count / Math.max(1e-3, (Date.now() - start) / 1000);
        bar.update(count, { rate: rate.toFixed(rate < 10 ? 2 : 1), info });
      },
      done() {
        bar.stop();
      },
    };
  }
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const every = (opts.lineEverySec ?? 10) * 1000;
  let last = start;
  const line = (info: string) => {
    const el = (Date.now() - start) / 1000;
    const rate = count / Math.max(1e-3, el);
    const eta = rate > 0 ? (opts.total - count) / rate : Infinity;
    write(`${opts.label}: ${count}/${opts.total} ${rate.toFixed(2)}/s elapsed ${formatDuration(el)} ETA ${formatDuration(eta)}${info ? ' ' + info : ''}`);
  };
  return {
    tick(n = 1, info = '') {
      count += n;
      const now = Date.now();
      if (now - last >= every) {
        last = now;
        line(info);
      }
    },
    done() {
      line('done');
    },
  };
}

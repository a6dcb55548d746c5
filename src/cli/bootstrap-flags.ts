import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/**
 * `--resamples` and `--seed` of `tesg eval` and `tesg downstream detect` only shape the `--baseline`
 * comparison; given without it they would be ignored silently, so they are a usage error instead.
 */
export function checkBootstrapFlags(cmd: Command | undefined, baseline: string | undefined): void {
  for (const flag of ['resamples', 'seed']) {
    if (baseline === undefined && cmd?.getOptionValueSource(flag) === 'cli') throw new UsageError(`--${flag} only applies with --baseline NAME; add --baseline, or drop --${flag}`);
  }
}

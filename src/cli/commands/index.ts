import type { Command } from 'commander';
import { register as fuse } from './fuse.js';
import { register as fuseVideo } from './fuse-video.js';
import { register as evalCommand } from './eval.js';
import { register as downstream } from './downstream.js';
import { register as sig } from './sig.js';
import { register as train } from './train.js';
import { register as serve } from './serve.js';
import { register as exportCommand } from './export.js';
import { register as bench } from './bench.js';
import { register as figure } from './figure.js';
import { register as queue } from './queue.js';
import { register as worker } from './worker.js';
import { register as plotLog } from './plot-log.js';
import { register as averageWeights } from './average-weights.js';

/** Every subcommand module exports `register(program)`. Add new commands to this list. */
export type Register = (program: Command) => void;

export const COMMANDS: Register[] = [
  fuse,
  fuseVideo,
  evalCommand,
  downstream,
  sig,
  train,
  averageWeights,
  serve,
  exportCommand,
  bench,
  figure,
  queue,
  worker,
  plotLog,
];

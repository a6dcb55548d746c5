import type { Command } from 'commander';
import { register as fuse } from './fuse.js';
import { register as evalCommand } from './eval.js';
import { register as downstream } from './downstream.js';
import { register as sig } from './sig.js';

/** Every subcommand module exports `register(program)`. Add new commands to this list. */
export type Register = (program: Command) => void;

export const COMMANDS: Register[] = [
  fuse,
  evalCommand,
  downstream,
  sig,
];

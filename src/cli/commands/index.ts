import type { Command } from 'commander';

/** Every subcommand module exports `register(program)`. Add new commands to this list. */
export type Register = (program: Command) => void;

export const COMMANDS: Register[] = [];

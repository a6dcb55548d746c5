#!/usr/bin/env node
/**
 * The `tesg` command. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; this file only wires them up and turns TesgErrors into one-line messages.
 */
import { Command } from 'commander';
import { TesgError } from '../errors.js';
import { COMMANDS } from './commands/index.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tesg')
    .description('Infrared/visible image fusion with textual semantic guidance (TeSG)')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof TesgError) {
    process.stderr.write(`tesg: error: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // commander's own exits (help, version, usage errors) carry an exitCode.
  const code = (err as { exitCode?: number; code?: string }).exitCode;
  if (typeof code === 'number' && (err as { code?: string }).code?.startsWith('commander.')) process.exit(code);
  process.stderr.write(`tesg: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(70);
});

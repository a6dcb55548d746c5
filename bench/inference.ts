/**
 * `npm run bench -- inference [tesg bench options]`: the same measurement as `tesg bench`
 * (src/export/bench.ts), e.g. `npm run bench -- inference --runs 3 --json`.
 */
import { Command } from 'commander';
import { register } from '../src/cli/commands/bench.js';

export async function run(args: string[]): Promise<void> {
  const program = new Command('bench').exitOverride();
  register(program);
  await program.parseAsync(['node', 'tesg', 'bench', ...args]);
}

/**
 * The `tesg` command (started by ./main.ts). Each subcommand lives in src/cli/commands/<name>.ts and
 * exports `register(program)`; this file only wires them up and turns TesgErrors into one-line messages.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { TesgError } from '../errors.js';
import { fusionMethodNames, registerFusionMethod } from '../fusion/index.js';
import { TesgFusion } from '../fusion/tesg-method.js';
import { markPhase, traceStartupOnExit } from '../util/startup-trace.js';
import type { Register } from './commands/index.js';

traceStartupOnExit();
// Every command that fuses offers the TeSG network (its heavy parts load on first use), whichever
// command module is loaded below.
if (!fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());

const OWN_EXT = path.extname(fileURLToPath(import.meta.url)); // .js in dist, .ts under tsx

/**
 * Only the invoked command's module, commands/<name>.js (the convention above): importing every
 * command pulls in tfjs with its gradients, libtorch, Vega, Redis... (about 1 s) that one command
 * does not need. Help, a bare `tesg` and unknown names load them all (commands/index.ts).
 */
async function commandsFor(argv: string[]): Promise<Register[]> {
  const name = argv[2];
  if (name !== undefined && /^[a-z][a-z0-9-]*$/.test(name)) {
    const file = fileURLToPath(new URL(`./commands/${name}${OWN_EXT}`, import.meta.url));
    if (existsSync(file)) {
      const mod = (await import(new URL(`./commands/${name}${OWN_EXT}`, import.meta.url).href)) as { register?: Register };
      if (typeof mod.register === 'function') return [mod.register];
    }
  }
  return (await import('./commands/index.js')).COMMANDS;
}

/** package.json's version (read directly: importing the report's provenance module would cost start-up time). */
function packageVersion(): string {
  try {
    const file = fileURLToPath(new URL('../../package.json', import.meta.url));
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tesg')
    .description('Infrared/visible image fusion with textual semantic guidance (TeSG)')
    .version(packageVersion(), '-V, --version', 'print the tesg version')
    // A usage error is one line (what is wrong, where help is), not the error plus a screen of help.
    .configureOutput({ outputError: (str, write) => write(`tesg: ${str.replace(/\s*\n\s*/g, ' ').trim()} (${/unknown command/.test(str) ? 'tesg --help lists the commands' : '--help lists the options'})\n`) })
    .exitOverride();
  for (const register of await commandsFor(argv)) register(program);
  markPhase('cli-ready');
  await program.parseAsync(argv);
}

main(process.argv).catch(async (err: unknown) => {
  let exitCode: number;
  const commanderCode = (err as { exitCode?: number; code?: string }).exitCode;
  if (err instanceof TesgError) {
    process.stderr.write(`tesg: error: ${err.message}\n`);
    exitCode = err.exitCode;
  } else if (typeof commanderCode === 'number' && (err as { code?: string }).code?.startsWith('commander.')) {
    // commander's own exits carry an exitCode: 0 for help and version; its usage errors (unknown option,
    // missing argument; already written as one line above) exit 2, as a UsageError does.
    exitCode = commanderCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`tesg: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    exitCode = 70;
  }
  // process.exit during an ONNX session load on a worker (the network's starts early) would abort
  // the process (exit 134); the message is out already, the exit waits for the load.
  const { onnxLoadsSettled } = await import('../runtime/onnx-thread.js');
  await onnxLoadsSettled();
  process.exit(exitCode);
});

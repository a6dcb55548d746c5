/**
 * Options of `npm run bench -- NAME [--option VALUE ...]`, shared by the benchmarks (bench/main.ts runs
 * only the .ts files of bench/ itself, not this folder).
 */

/** The value after `--name` (name given without the dashes), else `dflt`. A flag with no value gives `dflt`. */
export function optionValue(args: readonly string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}

/** optionValue as a number; throws naming the option when its value is not one. */
export function numberOption(args: readonly string[], name: string, dflt: number): number {
  const v = optionValue(args, name, String(dflt));
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}

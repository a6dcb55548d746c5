/**
 * `node --import ./test/helpers/record-imports.mjs ...`: appends every module URL the process (and its
 * worker threads) resolves through ESM to the file named by TESG_IMPORT_LOG, one per line. Used by
 * test/robustness-cold-start.test.ts to check which packages a command loads.
 */
import { register } from 'node:module';

const HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.TESG_IMPORT_LOG) appendFileSync(process.env.TESG_IMPORT_LOG, result.url + '\\n');
  return result;
}`;
register('data:text/javascript,' + encodeURIComponent(HOOK));

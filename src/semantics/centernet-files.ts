import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where the SIG detector's files are in Node, without loading tfjs (the tfjs loader is ./detector.ts,
 * the onnxruntime one ./centernet-ort.ts).
 */

/** Where the model files are: node_modules/@vladmandic/human/models/centernet.{json,bin}. */
export function centernetModelPath(): string {
  // The package's "exports" hide package.json, so resolve its entry and walk up to the package root.
  const entry = createRequire(import.meta.url).resolve('@vladmandic/human');
  let dir = path.dirname(entry);
  while (path.basename(dir) !== 'human' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'models', 'centernet.json');
}


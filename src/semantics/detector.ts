import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { CenterNet, freeInputSize, graphArtifacts, type GraphManifest, type NodeDef } from './centernet.js';
import { ensureTfBackend } from './tf-backend.js';
import { markPhase } from '../util/startup-trace.js';
import { converter } from '../runtime/tfjs-node.cjs';

export { boxIou, decodeCenterNet, DETECTOR_ID, nmsByClass, type Detection, type DetectOptions } from './centernet-decode.js';
export { centernetModelPath } from './centernet-files.js';
import { centernetModelPath } from './centernet-files.js';

/**
 * The SIG default's COCO detector (src/semantics/centernet.ts) loaded in Node: from
 * @vladmandic/human's models/ folder in node_modules through a file IO handler (never a URL fetch).
 */

/** A tfjs IO handler that reads model.json and its weight files from disk. */
export function fileIOHandler(modelJson: string, patchTopology?: (topology: { node: NodeDef[] }) => void): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      let manifest: GraphManifest;
      try {
        manifest = JSON.parse(await fs.readFile(modelJson, 'utf8'));
      } catch (err) {
        throw new InputError(modelJson, `cannot read the detector model (${(err as Error).message}); reinstall dependencies with npm ci`);
      }
      patchTopology?.(manifest.modelTopology);
      const dir = path.dirname(modelJson);
      const parts: Buffer[] = [];
      for (const group of manifest.weightsManifest) {
        for (const p of group.paths) parts.push(await fs.readFile(path.join(dir, p)));
      }
      return graphArtifacts(manifest, parts);
    },
  };
}

export class CenterNetDetector extends CenterNet {
  static async load(modelJson = centernetModelPath()): Promise<CenterNetDetector> {
    await ensureTfBackend();
    markPhase('tfjs-backend');
    const detector = new CenterNetDetector(await converter().loadGraphModel(fileIOHandler(modelJson, freeInputSize)));
    markPhase('detector-loaded');
    return detector;
  }
}

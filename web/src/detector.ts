import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import { CenterNet, freeInputSize, graphArtifacts, type GraphManifest } from '../../src/semantics/centernet.js';

/**
 * The SIG default's COCO detector (MB3-CenterNet from @vladmandic/human) in the browser: the CLI's
 * graph preparation, input sizing, decode and NMS (src/semantics/centernet.ts); only the loading
 * differs: the model files come from the served site, copied there at build time, instead of
 * node_modules on disk (src/semantics/detector.ts).
 */

/** Loads model.json and its weights with fetch, letting the input placeholder take any height and width. */
function fetchHandler(modelUrl: string, onBytes?: (loaded: number, total: number) => void): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const res = await fetch(modelUrl);
      if (!res.ok) throw new Error(`cannot load the detector model ${modelUrl}: HTTP ${res.status}`);
      const manifest = (await res.json()) as GraphManifest;
      freeInputSize(manifest.modelTopology);
      const base = new URL('.', new URL(modelUrl, location.href));
      const parts = manifest.weightsManifest.flatMap((g) => g.paths);
      const buffers: Uint8Array[] = [];
      for (const p of parts) {
        const r = await fetch(new URL(p, base));
        if (!r.ok) throw new Error(`cannot load the detector weights ${p}: HTTP ${r.status}`);
        buffers.push(new Uint8Array(await r.arrayBuffer()));
        onBytes?.(buffers.length, parts.length);
      }
      return graphArtifacts(manifest, buffers);
    },
  };
}

export class BrowserCenterNet extends CenterNet {
  static async load(modelUrl: string): Promise<BrowserCenterNet> {
    return new BrowserCenterNet(await loadGraphModel(fetchHandler(modelUrl)));
  }
}

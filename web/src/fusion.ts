import * as ort from 'onnxruntime-web/wasm';
import { cropChw, networkOutputToImage, networkPlanes, padChwSymmetric } from '../../src/export/layout.js';
import { sizeMultiple, validateModelConfig } from '../../src/model/config.js';
import { laplacianFusion } from '../../src/fusion/laplacian.js';
import type { Image8 } from '../../src/image/types.js';
import type { SigResult } from '../../src/semantics/types.js';

/**
 * Fusion in the browser: the exported TeSG network on onnxruntime-web (wasm), or, when the site was
 * built without an exported model, the classic Laplacian-pyramid baseline (the CLI's own code), which
 * the page labels as such.
 *
 * The network's graph (src/export/export.ts): inputs ir [1,1,H,W] (IR luminance), vi [1,3|1,H,W]
 * (RGB or Y by config vi_input), mask [1,1,H,W], text [1,tokens,dim]; output fused [1,1|3,H,W]; all
 * 0..1. Pre- and post-processing are the CLI's own (src/export/layout.ts, as src/export/onnx-fuse.ts
 * uses them), so the page and `tesg fuse --method tesg --backend onnx` give the same pixels
 * (test/web-app.test.ts checks).
 */

export interface NetworkConfig {
  vi_input: 'rgb' | 'y';
  output: 'y' | 'rgb';
  text_encoder: string;
  text_tokens: number;
  text_dim: number;
}

export interface Fuser {
  /** Shown in the page: which method made the image. */
  readonly label: string;
  /** True for the real network, false for the labelled fallback. */
  readonly network: boolean;
  fuse(ir: Image8, vi: Image8, sig: SigResult): Promise<Image8>;
}

export const laplacianFallback: Fuser = {
  label: 'classic Laplacian pyramid (fallback: this build has no exported network)',
  network: false,
  fuse: (ir, vi) => laplacianFusion.fuse(ir, vi),
};

/**
 * Where onnxruntime-web finds its glue and wasm binary (copied into the site at build time), and its
 * threads: they need a cross-origin-isolated page (tesg serve sends COOP/COEP); elsewhere one thread.
 */
export function configureOrt(siteBase: string): void {
  ort.env.wasm.wasmPaths = new URL('wasm/ort/', siteBase).href;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

export class OnnxFuser implements Fuser {
  readonly network = true;
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: NetworkConfig,
    readonly label: string,
  ) {}

  static async load(modelUrl: string, config: NetworkConfig, label: string): Promise<OnnxFuser> {
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`cannot load the network ${modelUrl}: HTTP ${res.status}`);
    const session = await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return new OnnxFuser(session, config, label);
  }

  async fuse(ir: Image8, vi: Image8, sig: SigResult): Promise<Image8> {
    const c = this.config;
    if (sig.textEncoderId !== c.text_encoder) {
      throw new Error(`the network was trained with text encoder '${c.text_encoder}', but the page's SIG gives '${sig.textEncoderId}'`);
    }
    const { width: w, height: h } = vi;
    // Pad to the size multiple (U-shaped models) and crop back, as OnnxFuser.runPlanar.
    const m = sizeMultiple(validateModelConfig({ ...c }, 'manifest.json network config'));
    const [ph, pw] = [Math.ceil(h / m) * m, Math.ceil(w / m) * m];
    const planes = networkPlanes(ir, vi, sig.mask, c.vi_input);
    const viCh = c.vi_input === 'y' ? 1 : 3;
    const feeds = {
      ir: new ort.Tensor('float32', padChwSymmetric(planes.ir, 1, h, w, ph, pw), [1, 1, ph, pw]),
      vi: new ort.Tensor('float32', padChwSymmetric(planes.vi, viCh, h, w, ph, pw), [1, viCh, ph, pw]),
      mask: new ort.Tensor('float32', padChwSymmetric(planes.mask, 1, h, w, ph, pw), [1, 1, ph, pw]),
      text: new ort.Tensor('float32', sig.embedding, [1, c.text_tokens, c.text_dim]),
    };
    const result = await this.session.run(feeds);
    const out = result.fused ?? Object.values(result)[0];
    const y = out.data as Float32Array;
    const outCh = c.output === 'rgb' ? 3 : 1;
    const cropped = ph === h && pw === w ? y : cropChw(y, ph, pw, outCh, { x: 0, y: 0, width: w, height: h });
    const img = networkOutputToImage(cropped, c.output, vi, planes.viRgb);
    for (const t of Object.values(result)) t.dispose();
    return img;
  }
}

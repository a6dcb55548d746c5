/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { MismatchError, TesgError } from '../../src/errors.js';
import { toGray } from '../../src/image/color.js';
import type { Image8 } from '../../src/image/types.js';
import { findMetric } from '../../src/metrics/index.js';
import { DEFAULT_SIG_VERSION, defaultProviders, runSig, sigVersionOfMasker, type BuiltinSigVersion, type SigProviders } from '../../src/semantics/sig.js';
import type { SigResult } from '../../src/semantics/types.js';
import { decodeImage } from './decode.js';
import { BrowserCenterNet } from './detector.js';
import { configureOrt, laplacianFallback, OnnxFuser, type Fuser } from './fusion.js';
import { PAGE_METRICS, type Reply, type Request, type SigRecord, type SiteManifest } from './protocol.js';

/**
 * The engine: everything heavy runs here, off the page's thread, so the page stays responsive and
 * can show progress. Requests run one at a time in arrival order; an 'update' that a newer 'update'
 * has overtaken is skipped (the user edited the keywords again before the first edit finished).
 */
declare const self: DedicatedWorkerGlobalScope;

let sig: SigProviders | null = null;
let sigVersion: BuiltinSigVersion = DEFAULT_SIG_VERSION;
let fuser: Fuser | null = null;
let pair: { ir: Image8; vi: Image8 } | null = null;
let lastSig: SigResult | null = null;

function post(msg: Reply): void {
  self.postMessage(msg);
}

/**
 * The built-in SIG version to run with the site's network, by the rule `tesg fuse` applies to the
 * weights (trainedSigVersion, src/fusion/tesg-method.ts): the SIG the model records (`tesg_sig`,
 * carried into manifest.json from the exported ONNX file); v1 for a model without the record
 * (tesg-v1 predates it); the default version for a record naming no built-in SIG (e.g. ONNX
 * providers), and for a site without a network (the Laplacian fallback does not use the SIG; the
 * page shows the default's, as `tesg sig` computes it). test/web-app.test.ts checks it against the CLI.
 */
function networkSigVersion(network: SiteManifest['network']): BuiltinSigVersion {
  if (!network) return DEFAULT_SIG_VERSION;
  const record: SigRecord | null | undefined = network.sig;
  if (!record) return 'v1';
  return sigVersionOfMasker(record.header?.masker) ?? DEFAULT_SIG_VERSION;
}

const SIG_DESCRIPTION: Record<BuiltinSigVersion, string> = { v1: 'COCO detector', v2: 'COCO detector + IR warm objects', v3: 'COCO detector + IR warm objects, confirmed weak boxes' };

async function init(id: number, base: string): Promise<void> {
  const progress = (stage: string, fraction: number) => post({ id, kind: 'progress', stage, fraction });
  progress('loading the site manifest', 0.02);
  const res = await fetch(new URL('manifest.json', base));
  if (!res.ok) throw new Error(`cannot load manifest.json (HTTP ${res.status}); rebuild the site with npm run build:web`);
  const manifest = (await res.json()) as SiteManifest;
  progress('starting TensorFlow.js (wasm)', 0.1);
  setWasmPaths(new URL('wasm/tfjs/', base).href);
  // One thread, as the CLI's detector runs: tfjs's threaded wasm build spawns helper workers from an
  // inline script that does not survive bundling; the detector takes well under a second either way.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  let backend = 'wasm';
  if (!(await tf.setBackend('wasm').catch(() => false))) {
    backend = 'cpu';
    await tf.setBackend('cpu');
  }
  await tf.ready();
  progress('loading the COCO detector (CenterNet, 4 MB)', 0.3);
  // The CLI's SIG providers and defaults, in the version the network was trained with, with the
  // detector fetched from the site.
  sigVersion = networkSigVersion(manifest.network);
  sig = defaultProviders({ version: sigVersion, detector: await BrowserCenterNet.load(new URL('models/centernet.json', base).href) });
  if (manifest.network) {
    progress('loading the TeSG network (onnxruntime-web)', 0.6);
    configureOrt(base);
    fuser = await OnnxFuser.load(new URL(manifest.network.url, base).href, manifest.network.config, `TeSG network (${manifest.network.source}, onnxruntime-web wasm)`);
  } else {
    fuser = laplacianFallback;
  }
  progress('ready', 1);
  post({
    id,
    kind: 'ready',
    method: fuser.label,
    network: fuser.network,
    backend: `tfjs ${tf.getBackend()}${backend === 'cpu' ? ' (wasm unavailable)' : ''}`,
    sig: { version: sigVersion, name: `SIG ${sigVersion} (${SIG_DESCRIPTION[sigVersion]})` },
  });
}

async function loadPair(id: number, req: Extract<Request, { kind: 'pair' }>): Promise<void> {
  post({ id, kind: 'progress', stage: 'decoding the images', fraction: 0.05 });
  const [ir, vi] = await Promise.all([decodeImage(new Uint8Array(req.ir.bytes), req.ir.name), decodeImage(new Uint8Array(req.vi.bytes), req.vi.name)]);
  if (ir.width !== vi.width || ir.height !== vi.height) {
    throw new MismatchError(`size mismatch: ${req.ir.name} is ${ir.width}x${ir.height} but ${req.vi.name} is ${vi.width}x${vi.height}; the two images must be aligned and the same size`);
  }
  pair = { ir, vi };
  lastSig = null;
  post({ id, kind: 'images', ir, vi });
  await process(id, undefined, undefined);
}

async function process(id: number, caption: string | undefined, keywords: string[] | undefined): Promise<void> {
  if (!sig || !fuser) throw new Error('the engine is not initialised');
  if (!pair) throw new TesgError('choose an IR and a VI image first');
  const { ir, vi } = pair;
  post({ id, kind: 'progress', stage: `SIG ${sigVersion}: detecting objects, caption, masks`, fraction: 0.2 });
  let t0 = performance.now();
  const s = keywords && keywords.length === 0 ? await noKeywordSig(ir, vi, caption) : await runSig({ ir, vi, caption, keywords, providers: sig });
  lastSig = s;
  post({ id, kind: 'sig', sig: { caption: s.caption, captionWithout: s.captionWithout, keywords: s.keywords, maskVis: s.maskVis, maskIr: s.maskIr, mask: s.mask }, ms: performance.now() - t0 });
  post({ id, kind: 'progress', stage: fuser.network ? 'fusing (TeSG network)' : 'fusing (Laplacian fallback)', fraction: 0.5 });
  t0 = performance.now();
  const fused = await fuser.fuse(ir, vi, s);
  post({ id, kind: 'fused', fused, method: fuser.label, ms: performance.now() - t0 });
  post({ id, kind: 'progress', stage: 'metrics (EN, SD, SCD, VIF, Qabf)', fraction: 0.8 });
  t0 = performance.now();
  const [gf, gi, gv] = [toGray(fused), toGray(ir), toGray(vi)];
  const metrics: Record<string, number> = {};
  for (const name of PAGE_METRICS) metrics[name] = findMetric(name)!.compute(gf, gi, gv);
  post({ id, kind: 'metrics', metrics, ms: performance.now() - t0 });
}

/** V* emptied by the user: no key objects, so M is empty and T^ = T (the fusion sees only background). */
async function noKeywordSig(ir: Image8, vi: Image8, caption: string | undefined): Promise<SigResult> {
  const text = caption ?? lastSig?.caption ?? (await sig!.captioner.caption(vi, ir));
  const empty = () => ({ width: vi.width, height: vi.height, data: new Uint8Array(vi.width * vi.height) });
  const enc = sig!.encoder;
  return { caption: text, captionWithout: text, keywords: [], maskVis: empty(), maskIr: empty(), mask: empty(), embedding: await enc.encode(text), textEncoderId: enc.id };
}

const queue: Request[] = [];
let running = false;

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  while (queue.length) {
    const req = queue.shift()!;
    try {
      if (req.kind === 'update' && queue.some((q) => q.kind === 'update' || q.kind === 'pair')) {
        post({ id: req.id, kind: 'done' });
        continue;
      }
      if (req.kind === 'init') await init(req.id, req.base);
      else if (req.kind === 'pair') await loadPair(req.id, req);
      else await process(req.id, req.caption, req.keywords);
      post({ id: req.id, kind: 'done' });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      post({ id: req.id, kind: 'error', message });
    }
  }
  running = false;
}

self.onmessage = (e: MessageEvent<Request>) => {
  queue.push(e.data);
  void pump();
};

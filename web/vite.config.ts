import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { readOnnxMetadata } from '../src/export/onnx-writer.js';
import { decodeSafetensors } from '../src/model/safetensors.js';
import { SHIPPED_ONNX_MODEL } from './src/shipped-model.js';

/**
 * The browser app's build (`npm run build:web` -> web/dist). Everything the page loads is copied into
 * the built site, so it runs from any static server (or `tesg serve`) with nothing fetched from
 * elsewhere: the COCO detector (tfjs graph from @vladmandic/human), the tfjs and onnxruntime wasm
 * binaries, the bundled sample pairs and, when it exists, the exported network.
 */
const WEB = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(WEB, '..');
const require = createRequire(import.meta.url);
/** The exported network to ship: SHIPPED_ONNX_MODEL, or TESG_WEB_MODEL (a path from the repository root). */
const MODEL_SOURCE = process.env.TESG_WEB_MODEL || SHIPPED_ONNX_MODEL;
const MODEL_FILE = path.resolve(ROOT, MODEL_SOURCE);

/** Directory of an installed package (its package.json may be hidden by "exports"). */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') dir = path.dirname(dir);
  return dir;
}

/** [site path, file on disk] for every asset the page fetches at run time. */
function siteAssets(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const human = path.join(packageDir('@vladmandic/human'), 'models');
  out.push(['models/centernet.json', path.join(human, 'centernet.json')], ['models/centernet.bin', path.join(human, 'centernet.bin')]);
  const tfwasm = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) out.push([`wasm/tfjs/${f}`, path.join(tfwasm, f)]);
  // onnxruntime-web's glue and binary, loaded from wasm/ort/ (the 'extern wasm' build, see resolve.conditions).
  const ort = path.join(packageDir('onnxruntime-web'), 'dist');
  for (const f of ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']) out.push([`wasm/ort/${f}`, path.join(ort, f)]);
  for (const mod of ['ir', 'vi']) {
    const dir = path.join(ROOT, 'samples', 'msrs', mod);
    for (const f of readdirSync(dir).sort()) out.push([`samples/msrs/${mod}/${f}`, path.join(dir, f)]);
  }
  if (existsSync(MODEL_FILE)) out.push(['models/tesg.onnx', MODEL_FILE]);
  return out;
}

/**
 * The SIG record of the network to ship (metadata `tesg_sig`: the training SIG cache's header, JSON),
 * or null when it has none (tesg-v1, trained before the record existed). Read from the ONNX file
 * (`tesg export` copies it there from the weights); an ONNX exported before that takes the record
 * of the weights beside it (same path, .safetensors), which is what `tesg fuse` reads. The two
 * disagreeing is an error: the page and the CLI would run different SIGs.
 */
function sigRecord(onnxMeta: Record<string, string>): string | null {
  const fromOnnx = onnxMeta.tesg_sig ?? null;
  const weights = MODEL_FILE.replace(/\.onnx$/i, '') + '.safetensors';
  const fromWeights = existsSync(weights) ? (decodeSafetensors(readFileSync(weights), weights).metadata.tesg_sig ?? null) : null;
  if (fromOnnx !== null && fromWeights !== null && fromOnnx !== fromWeights) {
    throw new Error(`${MODEL_FILE} and ${weights} record different SIGs (tesg_sig); re-export the model with tesg export --weights ${weights}`);
  }
  return fromOnnx ?? fromWeights;
}

/** What the page needs to know before it loads anything: the samples, and the network's config and SIG record or why there is none. */
function manifest(): string {
  const samples = readdirSync(path.join(ROOT, 'samples', 'msrs', 'ir'))
    .sort()
    .filter((f) => existsSync(path.join(ROOT, 'samples', 'msrs', 'vi', f)));
  let network: unknown = null;
  if (existsSync(MODEL_FILE)) {
    const meta = readOnnxMetadata(readFileSync(MODEL_FILE));
    if (!meta.tesg_config) throw new Error(`${MODEL_FILE}: no tesg_config metadata; export the model with tesg export`);
    const sig = sigRecord(meta);
    network = { url: 'models/tesg.onnx', config: JSON.parse(meta.tesg_config), sig: sig === null ? null : JSON.parse(sig), source: path.basename(MODEL_SOURCE) };
  } else if (process.env.TESG_WEB_MODEL) {
    throw new Error(`TESG_WEB_MODEL=${process.env.TESG_WEB_MODEL}: no such file`);
  }
  return JSON.stringify({ samples: samples.map((f) => ({ name: f.replace(/\.[^.]+$/, ''), ir: `samples/msrs/ir/${f}`, vi: `samples/msrs/vi/${f}` })), network }, null, 1);
}

function copySiteAssets(): Plugin {
  return {
    name: 'tesg-site-assets',
    apply: 'build',
    generateBundle() {
      for (const [fileName, src] of siteAssets()) this.emitFile({ type: 'asset', fileName, source: readFileSync(src) });
      this.emitFile({ type: 'asset', fileName: 'manifest.json', source: manifest() });
    },
  };
}

/**
 * The page reuses the CLI's pure modules (metrics, keywords, masks, colour, BMP). Some of their
 * neighbours import Node built-ins at the top; the page never calls those functions, so the imports
 * resolve to a stub whose exports throw if ever used.
 */
const NODE_ONLY = ['node:fs', 'node:fs/promises', 'node:module', 'node:path', 'node:url', 'node:os', 'node:worker_threads', 'node:crypto', 'node:process', 'sharp', 'onnxruntime-node'];

/** src/runtime/tfjs-node.cts, as src/ imports it (NodeNext: the compiled name, .cjs), and the page's stand-in. */
const TFJS_NODE = path.join(ROOT, 'src', 'runtime', 'tfjs-node.cjs');
const TFJS_BROWSER = path.join(ROOT, 'src', 'runtime', 'tfjs-browser.ts');

/**
 * src/ loads tfjs through src/runtime/tfjs-node.cts (CommonJS, require(): a faster Node start); the
 * page gets the same exports through ESM imports (tfjs-browser.ts). Matched by the resolved path of the
 * import, whatever its spelling ('./tfjs-node.cjs', '../../src/runtime/tfjs-node.cjs', ...), and only
 * that file. In `plugins` and `worker.plugins`: Vite builds the workers with their own plugin list.
 */
function tfjsForBrowser(): Plugin {
  return {
    name: 'tesg-tfjs-browser',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!importer || !/tfjs-node\.c[jt]s$/.test(source)) return null;
      const file = path.resolve(path.dirname(importer.replace(/[?#].*$/, '')), source).replace(/\.cts$/, '.cjs');
      return file === TFJS_NODE ? TFJS_BROWSER : null;
    },
  };
}

export default defineConfig({
  root: WEB,
  base: './',
  resolve: {
    // onnxruntime-web without its glue inlined: it loads ort-wasm-simd-threaded.mjs from wasmPaths, and
    // its wasm threads start from that file (the inlined build would start them from our worker chunk).
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
    alias: [
      ...NODE_ONLY.map((find) => ({ find: new RegExp(`^${find.replace('/', '\\/')}$`), replacement: path.join(WEB, 'src', 'node-stub.ts') })),
      // src/ imports its siblings as './x.js' (NodeNext); Vite resolves those to the .ts files itself.
    ],
  },
  worker: { format: 'es', plugins: () => [tfjsForBrowser()] },
  build: {
    // TESG_WEB_OUT: build elsewhere (tests build a variant with a test network without touching web/dist).
    outDir: process.env.TESG_WEB_OUT ? path.resolve(process.env.TESG_WEB_OUT) : path.join(WEB, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  plugins: [tfjsForBrowser(), copySiteAssets()],
});

/**
 * The browser app end to end in real headless Chromium (Debian's chromium, driven by playwright-core):
 * build the site, serve it with `tesg serve`'s server, load the bundled sample pair and check what the
 * page shows against the CLI on the same images:
 *   - caption, keywords and mask sizes against the SIG default in Node (runSig);
 *   - the downloaded fused PNG against `tesg fuse` (pixels);
 *   - the metrics shown against `tesg eval` on that downloaded file.
 * Two builds: the site as shipped (the exported network when weights/tesg.onnx exists, else the
 * labelled Laplacian fallback), and a build with a small random-weight export (always: it also checks that the mask reaches the network)
 * so the onnxruntime-web path is checked against `tesg fuse --method tesg --backend onnx` either way.
 * The page runs the built-in SIG its network was trained with, as `tesg fuse` does: the shipped
 * site's is whatever the shipped weights record (none: v1), the random-weight export records SIG v2
 * (and is run on the night sample, where v2's IR warm objects matter), so both versions are checked.
 * TESG_WEB_MODEL=path/model.onnx runs the shipped-site tests on that export instead (built into a temp
 * folder, web/dist untouched): a candidate model checked before it replaces weights/tesg.onnx.
 * Skips only when chromium is not installed (.ci/run installs it).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startServer, type RunningServer } from '../src/cli/commands/serve.js';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { readOnnxMetadata } from '../src/export/onnx-writer.js';
import { trainedSigVersion } from '../src/fusion/tesg-method.js';
import { readTensorFileMetadata } from '../src/model/safetensors.js';
import { DEFAULT_SIG_VERSION, defaultProviders, runSig, type BuiltinSigVersion } from '../src/semantics/sig.js';
import { SHIPPED_ONNX_MODEL } from '../web/src/shipped-model.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.TESG_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium not installed at ${CHROMIUM} (apt-get install -y chromium, or set TESG_CHROMIUM)`;
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const STEM = '00537D';
const IR = path.join(ROOT, 'samples/msrs/ir', `${STEM}.png`);
const VI = path.join(ROOT, 'samples/msrs/vi', `${STEM}.png`);
/** The night sample: SIG v2 adds IR warm objects at night, so v1 and v2 differ most here. */
const NIGHT = '01102N';
/** A candidate export to test as the shipped one (TESG_WEB_MODEL, as `npm run build:web` takes it). */
const CANDIDATE = process.env.TESG_WEB_MODEL ? path.resolve(ROOT, process.env.TESG_WEB_MODEL) : undefined;
const SHIPPED = CANDIDATE ?? path.join(ROOT, SHIPPED_ONNX_MODEL);
const SHIPPED_WEIGHTS = SHIPPED.replace(/\.onnx$/, '.safetensors');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'tesg-web-'));
/** Where the shipped site is built: web/dist, or a temp folder for a candidate. */
const SHIPPED_SITE = CANDIDATE ? path.join(TMP, 'site-candidate') : path.join(ROOT, 'web', 'dist');

/** What may differ between the page and the CLI: onnxruntime-web (wasm) and -node round floats differently. */
const NETWORK_MAX_ABS = 2;
const NETWORK_MEAN_ABS = 0.05;

async function tesg(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
  return stdout;
}

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** Build the site unless `out` is newer than everything it is made from. */
async function buildSite(out: string, model?: string): Promise<void> {
  const sources = ['web/index.html', 'web/src', 'web/vite.config.ts', 'src/semantics', 'src/metrics', 'src/image', 'src/fusion', 'src/export', 'samples'].map((p) => path.join(ROOT, p));
  if (model) sources.push(model);
  else if (existsSync(SHIPPED)) sources.push(SHIPPED);
  const index = path.join(out, 'index.html');
  const manifest = path.join(out, 'manifest.json');
  // A build is reused only when it is newer than its sources and holds the wanted network (or none).
  const wanted = model ? path.basename(model) : existsSync(SHIPPED) ? path.basename(SHIPPED) : null;
  const holds = existsSync(manifest) ? ((JSON.parse(readFileSync(manifest, 'utf8')) as { network: { source: string } | null }).network?.source ?? null) : undefined;
  if (existsSync(index) && holds === wanted && statSync(index).mtimeMs > Math.max(...sources.map(newestMtime))) return;
  const env = { ...process.env, TESG_WEB_OUT: out, TESG_WEB_MODEL: model ?? '' };
  await run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, env });
}

async function openSample(browser: BrowserContext, url: string, stem = STEM): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'done', `page failed to start: ${await page.textContent('#error')} ${errors.join('; ')}`);
  await page.click(`button[data-sample="${stem}"]`);
  await waitDone(page);
  return page;
}

async function waitDone(page: Page): Promise<void> {
  // Setting the IR and then the VI file starts two runs; the page may settle briefly after the first
  // (e.g. "done" or a size error) before the second begins, so wait until the state stays settled.
  const settled = () => page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', null, { timeout: 120_000 });
  await settled();
  for (let i = 0; i < 10; i++) {
    await page.waitForTimeout(300);
    const s = await page.getAttribute('body', 'data-state');
    if (s === 'done' || s === 'error') break;
    await settled();
  }
  assert.equal(await page.getAttribute('body', 'data-state'), 'done', `page error: ${await page.textContent('#error')}`);
}

async function download(page: Page, file: string, stem = STEM): Promise<Image8> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(dl.suggestedFilename(), `${stem}-tesg.png`);
  await dl.saveAs(file);
  return readImage(file);
}

function diff(a: Image8, b: Image8): { max: number; mean: number } {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels], 'fused image size/channels');
  let max = 0, sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.data.length };
}

/** `tesg eval` on one fused file: its numbers for the page's five metrics. */
async function evalNumbers(fusedFile: string, tag: string): Promise<Record<string, number>> {
  const dir = path.join(TMP, `eval-${tag}`);
  for (const sub of ['ir', 'vi', 'fused']) mkdirSync(path.join(dir, sub), { recursive: true });
  copyFileSync(IR, path.join(dir, 'ir', `${STEM}.png`));
  copyFileSync(VI, path.join(dir, 'vi', `${STEM}.png`));
  copyFileSync(fusedFile, path.join(dir, 'fused', `${STEM}.png`));
  await tesg('eval', '--ir', path.join(dir, 'ir'), '--vi', path.join(dir, 'vi'), '--fused', `web=${path.join(dir, 'fused')}`, '--out', path.join(dir, 'out'), '--workers', '1');
  const doc = JSON.parse(readFileSync(path.join(dir, 'out', 'per-image.json'), 'utf8')) as { images: Array<Record<string, number | string>> };
  return doc.images[0] as Record<string, number>;
}

async function shownMetrics(page: Page): Promise<Record<string, number>> {
  const cells = await page.$$eval('#metrics td[data-metric]', (tds) => tds.map((td) => [td.getAttribute('data-metric'), td.getAttribute('data-value')]));
  return Object.fromEntries(cells.map(([k, v]) => [k, Number(v)]));
}

async function shownSig(page: Page): Promise<{ caption: string; keywords: string[]; pixels: number[] }> {
  return {
    caption: await page.inputValue('#caption'),
    keywords: await page.$$eval('.chip', (chips) => chips.map((c) => c.getAttribute('data-keyword') ?? '')),
    pixels: await Promise.all(['cov-vis', 'cov-ir', 'cov-union'].map(async (id) => Number(await page.getAttribute(`#${id}`, 'data-pixels')))),
  };
}

/** The CLI's fusion of a pair with the method the shipped site uses. */
async function cliFuse(ir: string, vi: string, out: string): Promise<string> {
  if (existsSync(SHIPPED)) await tesg('fuse', ir, vi, '-o', out, '--method', 'tesg', '--backend', 'onnx', '--weights', SHIPPED_WEIGHTS);
  else await tesg('fuse', ir, vi, '-o', out, '--method', 'laplacian');
  return out;
}

const count = (m: { data: Uint8Array }) => m.data.reduce((s, v) => s + v, 0);

/** The SIG version the page says it runs (its status badge). */
async function shownSigVersion(page: Page): Promise<string | null> {
  return page.getAttribute('#method', 'data-sig');
}

/** The SIG version `tesg fuse` runs for the network a site was built with (none: the default's, see engine.worker.ts). */
async function cliSigVersion(onnx: string): Promise<BuiltinSigVersion> {
  return existsSync(onnx) ? trainedSigVersion(onnx.replace(/\.onnx$/, '.safetensors')) : DEFAULT_SIG_VERSION;
}

describe('browser app (headless chromium)', { skip, timeout: 600_000 }, () => {
  let browser: BrowserContext;
  const servers: RunningServer[] = [];
  let ir: Image8, vi: Image8;

  before(async () => {
    [ir, vi] = await Promise.all([readImage(IR), readImage(VI)]);
    mkdirSync(ARTIFACTS, { recursive: true });
    // A new empty profile; Playwright adds --headless and takes the profile folder as userDataDir.
    browser = await chromium.launchPersistentContext(path.join(TMP, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
      viewport: { width: 1400, height: 1900 },
      acceptDownloads: true,
    });
  });

  after(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    rmSync(TMP, { recursive: true, force: true });
  });

  test('the shipped site: SIG, fused pixels and metrics as the CLI gives them', async (t) => {
    const site = SHIPPED_SITE;
    await buildSite(site, CANDIDATE);
    const server = await startServer({ dir: site, port: 0 });
    servers.push(server);
    const page = await openSample(browser, server.url);
    const method = (await page.textContent('#fused-method')) ?? '';

    // SIG: the page's caption, V* and masks are the CLI's, from the SIG version `tesg fuse` runs for
    // the shipped weights (the one they were trained with: v1 for tesg-v1, v2 for tesg-v2).
    const version = await cliSigVersion(SHIPPED);
    assert.equal(await shownSigVersion(page), version, `the page runs SIG ${await shownSigVersion(page)}, tesg fuse SIG ${version}`);
    assert.match((await page.textContent('#method')) ?? '', new RegExp(`SIG ${version} \\(`));
    t.diagnostic(`shipped model's SIG: ${version}`);
    const ref = await runSig({ ir, vi, providers: defaultProviders({ version }) });
    const shown = await shownSig(page);
    assert.equal(shown.caption, ref.caption);
    assert.deepEqual(shown.keywords, ref.keywords);
    assert.ok(ref.keywords.length > 0, 'the sample shows key objects');
    assert.deepEqual(shown.pixels, [count(ref.maskVis), count(ref.maskIr), count(ref.mask)], 'mask pixel counts M_vis, M_ir, M');

    // Fused pixels: the download against the CLI on the same pair.
    const fused = await download(page, path.join(TMP, 'shipped.png'));
    const cliOut = path.join(TMP, 'cli-shipped.png');
    await cliFuse(IR, VI, cliOut);
    if (existsSync(SHIPPED)) {
      assert.match(method, /TeSG network/);
      const d = diff(fused, await readImage(cliOut));
      t.diagnostic(`page vs CLI (shipped network): max abs ${d.max}, mean abs ${d.mean.toExponential(2)}`);
      assert.ok(d.max <= NETWORK_MAX_ABS && d.mean <= NETWORK_MEAN_ABS, `page vs CLI network: max ${d.max}, mean ${d.mean}`);
    } else {
      assert.match(method, /Laplacian pyramid \(fallback/);
      assert.deepEqual(diff(fused, await readImage(cliOut)), { max: 0, mean: 0 }, 'page vs CLI laplacian: same code, same pixels');
    }

    // Metrics: what the page shows is what tesg eval computes for the downloaded file.
    const shownM = await shownMetrics(page);
    const evalM = await evalNumbers(path.join(TMP, 'shipped.png'), 'shipped');
    for (const name of ['EN', 'SD', 'SCD', 'VIF', 'Qabf']) {
      assert.ok(Math.abs(shownM[name] - evalM[name]) <= 1e-9 * Math.max(1, Math.abs(evalM[name])), `${name}: page ${shownM[name]} vs tesg eval ${evalM[name]}`);
    }
    t.diagnostic(`metrics shown: ${JSON.stringify(shownM)}; timing: ${await page.textContent('#timing')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-app.png'), fullPage: true });

    // Editing V*: dropping a keyword changes T^ and the masks as the CLI's --keyword does.
    const keep = ref.keywords.slice(1);
    await page.click(`.chip[data-keyword="${ref.keywords[0]}"] button`);
    await waitDone(page);
    const edited = await shownSig(page);
    assert.deepEqual(edited.keywords, keep);
    if (keep.length > 0) {
      const refEdited = await runSig({ ir, vi, caption: ref.caption, keywords: keep, providers: defaultProviders({ version }) });
      assert.equal(await page.textContent('#caption-without'), refEdited.captionWithout);
      assert.deepEqual(edited.pixels, [count(refEdited.maskVis), count(refEdited.maskIr), count(refEdited.mask)]);
    } else {
      assert.deepEqual(edited.pixels, [0, 0, 0]);
    }
    assert.ok(edited.pixels[2] < shown.pixels[2], 'fewer key objects, smaller mask');
    await page.close();
  });

  test('own files: errors shown in the page, a JPEG pair fused as the CLI fuses it', async (t) => {
    const site = SHIPPED_SITE;
    await buildSite(site, CANDIDATE);
    const server = servers[0] ?? (await startServer({ dir: site, port: 0 }));
    if (!servers.includes(server)) servers.push(server);
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 60_000 });
    const files = path.join(TMP, 'own');
    mkdirSync(files, { recursive: true });
    const small = path.join(files, 'small.png');
    await sharp(VI).resize(320, 240).png().toFile(small);
    const garbage = path.join(files, 'notes.png');
    writeFileSync(garbage, 'these are not pixels\n');
    const truncated = path.join(files, 'cut.png');
    const full = readFileSync(VI);
    writeFileSync(truncated, full.subarray(0, full.length >> 1));

    const expectError = async (vi: string, pattern: RegExp) => {
      await page.setInputFiles('#file-vi', vi);
      await page.waitForFunction(() => document.body.dataset.state === 'error' || document.body.dataset.state === 'done', null, { timeout: 30_000 });
      assert.equal(await page.getAttribute('body', 'data-state'), 'error');
      assert.match((await page.textContent('#error')) ?? '', pattern);
      assert.equal(await page.isVisible('#error'), true);
    };
    await page.setInputFiles('#file-ir', IR);
    await expectError(small, /size mismatch: 00537D\.png is 640x480 but small\.png is 320x240/);
    await expectError(garbage, /notes\.png: unsupported format/);
    await expectError(truncated, /cut\.png: corrupt or truncated PNG/);

    // A JPEG pair (IR stored as one channel), decoded by the browser, fused like the CLI fuses it.
    const irJpg = path.join(files, `${STEM}-ir.jpg`), viJpg = path.join(files, `${STEM}.jpg`);
    await sharp(IR).toColourspace('b-w').jpeg({ quality: 90 }).toFile(irJpg);
    await sharp(VI).jpeg({ quality: 90 }).toFile(viJpg);
    await page.setInputFiles('#file-ir', irJpg);
    await page.setInputFiles('#file-vi', viJpg);
    await waitDone(page);
    assert.equal(await page.isVisible('#error'), false, 'a good pair clears the error');
    const fused = await download(page, path.join(files, 'fused-jpg.png'));
    const cliOut = path.join(files, 'cli-jpg.png');
    const d = diff(fused, await readImage(await cliFuse(irJpg, viJpg, cliOut)));
    t.diagnostic(`JPEG pair, page vs CLI: max abs ${d.max}, mean abs ${d.mean.toExponential(2)}`);
    assert.ok(existsSync(SHIPPED) ? d.max <= NETWORK_MAX_ABS && d.mean <= NETWORK_MEAN_ABS : d.max === 0, `JPEG pair: max ${d.max}, mean ${d.mean}`);
    await page.close();
  });

  test('the network path on a small random-weight export trained with SIG v2: the page runs SIG v2, onnxruntime-web equals tesg fuse --backend onnx, and the mask reaches the network', async (t) => {
    // A small random-weight network: the plumbing (inputs, layout, colour, rounding) is what is tested.
    // Its weights record SIG v2 as `tesg train` records its SIG cache (the header of a `tesg sig
    // --sig-version v2` cache), so `tesg fuse --weights` runs v2 for it, and so must the page.
    const { TesgModel } = await import('../src/model/model.js');
    const { exportWeightsFile, ONNX_SIG_KEY } = await import('../src/export/export.js');
    const { writeTensorFile } = await import('../src/model/safetensors.js');
    const { SIG_KEY } = await import('../src/training/checkpoint.js');
    const { THERMAL_SIG_ID } = await import('../src/semantics/thermal-provider.js');
    // The backend the SIG's detector sets up (a no-op after the tests above ran the SIG here): the
    // SIG modules register wasm, so tfjs needs it ready before the model makes tensors.
    await (await import('../src/semantics/tf-backend.js')).ensureTfBackend();
    const weights = path.join(TMP, 'net', 'tesg.safetensors');
    const model = TesgModel.create({ dim: 8, heads: 2, enc_blocks: 1, dec_blocks: 1 }, 7);
    const c = model.config;
    const record = JSON.stringify({ header: { version: 1, textEncoderId: c.text_encoder, tokens: c.text_tokens, dim: c.text_dim, captioner: THERMAL_SIG_ID, masker: THERMAL_SIG_ID } });
    await writeTensorFile(weights, await model.toTensorFile({ metadata: { [SIG_KEY]: record } }));
    model.dispose();
    assert.equal(await trainedSigVersion(weights), 'v2');
    const onnx = weights.replace(/\.safetensors$/, '.onnx');
    const exported = await exportWeightsFile(weights, onnx);
    // The export carries the weights' SIG record: the ONNX file alone says which SIG to run.
    assert.equal(exported.sig, record);
    assert.equal(readOnnxMetadata(readFileSync(onnx))[ONNX_SIG_KEY], (await readTensorFileMetadata(weights))[SIG_KEY]);

    const site = path.join(TMP, 'site-net');
    await buildSite(site, onnx);
    const server = await startServer({ dir: site, port: 0 });
    servers.push(server);
    const page = await openSample(browser, server.url, NIGHT);
    assert.match((await page.textContent('#fused-method')) ?? '', /TeSG network \(tesg\.onnx/);
    assert.equal(await shownSigVersion(page), 'v2');
    assert.match((await page.textContent('#method')) ?? '', /SIG v2 \(COCO detector \+ IR warm objects\)/);

    // SIG v2 in the page is the CLI's, to the pixel, warm objects included (v1 finds far less in this IR image).
    const [irN, viN] = [path.join(ROOT, 'samples/msrs/ir', `${NIGHT}.png`), path.join(ROOT, 'samples/msrs/vi', `${NIGHT}.png`)];
    const [irImg, viImg] = await Promise.all([readImage(irN), readImage(viN)]);
    const [ref, refV1] = await Promise.all(['v2', 'v1'].map((version) => runSig({ ir: irImg, vi: viImg, providers: defaultProviders({ version: version as BuiltinSigVersion }) })));
    const shown = await shownSig(page);
    assert.equal(shown.caption, ref.caption);
    assert.deepEqual(shown.keywords, ref.keywords);
    assert.deepEqual(shown.pixels, [count(ref.maskVis), count(ref.maskIr), count(ref.mask)], 'SIG v2 mask pixel counts M_vis, M_ir, M');
    assert.ok(count(ref.maskIr) > count(refV1.maskIr), `v2 adds warm objects to M_ir here (v2 ${count(ref.maskIr)} px, v1 ${count(refV1.maskIr)} px)`);
    t.diagnostic(`SIG v2 on ${NIGHT}: "${ref.caption}", M_ir ${count(ref.maskIr)} px (v1: "${refV1.caption}", ${count(refV1.maskIr)} px)`);

    const fused = await download(page, path.join(TMP, 'net.png'), NIGHT);
    const cliOut = path.join(TMP, 'cli-net.png');
    await tesg('fuse', irN, viN, '-o', cliOut, '--method', 'tesg', '--backend', 'onnx', '--weights', weights);
    const d = diff(fused, await readImage(cliOut));
    t.diagnostic(`page vs CLI (random-weight network): max abs ${d.max}, mean abs ${d.mean.toExponential(2)}`);
    assert.ok(d.max <= NETWORK_MAX_ABS && d.mean <= NETWORK_MEAN_ABS, `page vs CLI network: max ${d.max}, mean ${d.mean}`);
    // The caption and mask reach the network: a caption without key objects (so V* and M are empty)
    // changes the fused image.
    const before = fused;
    await page.fill('#caption', 'a night road scene');
    await page.click('#caption-form button[type=submit]');
    await waitDone(page);
    assert.deepEqual((await shownSig(page)).pixels, [0, 0, 0]);
    const noMask = await download(page, path.join(TMP, 'net-nomask.png'), NIGHT);
    assert.ok(diff(before, noMask).max > 0, 'fusion depends on the mask');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-app-network.png'), fullPage: true });
    await page.close();
  });
});

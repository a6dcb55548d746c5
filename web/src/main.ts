import { encode as encodePng } from 'fast-png';
import type { Image8 } from '../../src/image/types.js';
import { COCO_LABELS } from '../../src/semantics/coco-labels.js';
import { findKeywords } from '../../src/semantics/keywords.js';
import type { Reply, Request, RequestBody, SiteManifest, SigView } from './protocol.js';
import { coverage, drawImage, drawOverlay } from './view.js';

/**
 * The page: inputs, the SIG's caption and keywords (editable), mask overlays, the fused image with a
 * before/after slider, metrics and download. All computing happens in the engine worker; this file
 * only sends requests and draws replies. `body[data-state]` is 'loading' | 'busy' | 'done' | 'error'
 * (end-to-end tests wait on it).
 */

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const base = new URL('.', location.href).href;
const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });

interface PageState {
  ir: Image8 | null;
  vi: Image8 | null;
  fused: Image8 | null;
  sig: SigView | null;
  stem: string;
}
const state: PageState = { ir: null, vi: null, fused: null, sig: null, stem: 'fused' };
const chosen: { ir?: File; vi?: File } = {};

let nextId = 1;
let latest = 0;
const timings: Record<string, number> = {};

function send(req: RequestBody): number {
  const id = nextId++;
  latest = id;
  setState('busy');
  worker.postMessage({ ...req, id } as Request);
  return id;
}

function setState(s: 'loading' | 'busy' | 'done' | 'error'): void {
  document.body.dataset.state = s;
}

function showError(message: string | null): void {
  const box = $('error');
  box.hidden = message === null;
  box.textContent = message ?? '';
}

function progress(stage: string, fraction: number): void {
  $<HTMLProgressElement>('progress').value = fraction;
  $('stage').textContent = stage;
}

worker.onmessage = (e: MessageEvent<Reply>) => {
  const r = e.data;
  // Replies of a superseded request still draw (they are the newest pixels so far), but only the
  // latest request decides the page state.
  switch (r.kind) {
    case 'progress':
      progress(r.stage, r.fraction);
      break;
    case 'ready': {
      const badge = $('method');
      badge.textContent = `${r.method}; ${r.sig.name}; ${r.backend}`;
      badge.dataset.sig = r.sig.version;
      badge.classList.toggle('fallback', !r.network);
      break;
    }
    case 'images':
      state.ir = r.ir;
      state.vi = r.vi;
      break;
    case 'sig':
      state.sig = r.sig;
      timings.SIG = r.ms;
      showSig(r.sig);
      break;
    case 'fused':
      state.fused = r.fused;
      timings.fusion = r.ms;
      $('fused-method').textContent = `by ${r.method}`;
      showFused();
      break;
    case 'metrics':
      timings.metrics = r.ms;
      showMetrics(r.metrics);
      break;
    case 'done':
      if (r.id === latest) {
        progress(state.fused ? 'done' : 'ready: choose images or a sample', 1);
        setState('done');
      }
      break;
    case 'error':
      if (r.id === latest) {
        showError(r.message);
        progress('stopped', 0);
        setState('error');
      }
      break;
  }
};

// ---- inputs -------------------------------------------------------------------------------------

function stemOf(name: string): string {
  return name.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
}

async function startPair(ir: { name: string; bytes: ArrayBuffer }, vi: { name: string; bytes: ArrayBuffer }): Promise<void> {
  showError(null);
  state.fused = null;
  state.stem = stemOf(vi.name);
  send({ kind: 'pair', ir, vi });
}

async function tryFiles(): Promise<void> {
  if (!chosen.ir || !chosen.vi) return;
  const [ib, vb] = await Promise.all([chosen.ir.arrayBuffer(), chosen.vi.arrayBuffer()]);
  await startPair({ name: chosen.ir.name, bytes: ib }, { name: chosen.vi.name, bytes: vb });
}

function pick(which: 'ir' | 'vi', file: File | undefined): void {
  if (!file) return;
  chosen[which] = file;
  $(`name-${which}`).textContent = file.name;
  if (chosen.ir && chosen.vi) setState('busy');
  void tryFiles().catch((err: Error) => showError(`${file.name}: cannot read the file (${err.message})`));
}

for (const which of ['ir', 'vi'] as const) {
  const input = $<HTMLInputElement>(`file-${which}`);
  input.addEventListener('change', () => pick(which, input.files?.[0]));
  const zone = $(`drop-${which}`);
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    pick(which, e.dataTransfer?.files?.[0]);
  });
}

async function fetchBytes(path: string): Promise<{ name: string; bytes: ArrayBuffer }> {
  const res = await fetch(new URL(path, base));
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return { name: path, bytes: await res.arrayBuffer() };
}

async function loadManifest(): Promise<void> {
  const res = await fetch(new URL('manifest.json', base));
  if (!res.ok) throw new Error(`manifest.json: HTTP ${res.status}; rebuild the site with npm run build:web`);
  const manifest = (await res.json()) as SiteManifest;
  const box = $('sample-buttons');
  for (const s of manifest.samples) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = s.name;
    b.dataset.sample = s.name;
    b.addEventListener('click', async () => {
      setState('busy');
      $('name-ir').textContent = s.ir;
      $('name-vi').textContent = s.vi;
      try {
        const [ir, vi] = await Promise.all([fetchBytes(s.ir), fetchBytes(s.vi)]);
        await startPair(ir, vi);
      } catch (err) {
        showError((err as Error).message);
        setState('error');
      }
    });
    box.append(b);
  }
}

// ---- semantics ----------------------------------------------------------------------------------

const datalist = $('coco-classes');
for (const label of COCO_LABELS) {
  const o = document.createElement('option');
  o.value = label;
  datalist.append(o);
}

function showSig(s: SigView): void {
  $('semantics').hidden = false;
  $<HTMLInputElement>('caption').value = s.caption;
  $('caption-without').textContent = s.captionWithout;
  const chips = $('chips');
  chips.replaceChildren();
  if (s.keywords.length === 0) {
    const none = document.createElement('span');
    none.className = 'chips-empty';
    none.textContent = 'none (no key objects: the masks are empty)';
    chips.append(none);
  }
  for (const k of s.keywords) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.dataset.keyword = k;
    chip.textContent = k;
    const x = document.createElement('button');
    x.type = 'button';
    x.title = `remove ${k}`;
    x.setAttribute('aria-label', `remove ${k}`);
    x.textContent = '\u00d7';
    x.addEventListener('click', () => update({ keywords: s.keywords.filter((w) => w !== k) }));
    chip.append(x);
    chips.append(chip);
  }
  if (state.ir && state.vi) {
    drawOverlay($('mask-vis'), state.vi, s.maskVis, [255, 200, 0]);
    drawOverlay($('mask-ir'), state.ir, s.maskIr, [0, 220, 255]);
    drawOverlay($('mask-union'), state.vi, s.mask, [255, 60, 200]);
  }
  const show = (id: string, m: SigView['mask']) => {
    const share = coverage(m);
    $(id).textContent = `(${(100 * share).toFixed(1)}% of pixels)`;
    $(id).dataset.pixels = String(Math.round(share * m.data.length));
  };
  show('cov-vis', s.maskVis);
  show('cov-ir', s.maskIr);
  show('cov-union', s.mask);
}

function update(edit: { caption?: string; keywords?: string[] }): void {
  if (!state.sig) return;
  showError(null);
  send({ kind: 'update', caption: edit.caption ?? state.sig.caption, keywords: edit.keywords ?? state.sig.keywords });
}

$('chip-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('chip-input');
  const word = input.value.trim();
  if (!word || !state.sig) return;
  // Surface forms the vocabulary knows map to their class ('bikes' -> bicycle), as the CLI's --keyword.
  const k = findKeywords(word)[0] ?? word.toLowerCase();
  if (!COCO_LABELS.includes(k)) {
    showError(`"${word}" is not an object class the built-in detector knows; pick one of the 80 COCO classes (e.g. person, car, bicycle)`);
    return;
  }
  input.value = '';
  if (!state.sig.keywords.includes(k)) update({ keywords: [...state.sig.keywords, k] });
});

$('caption-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const caption = $<HTMLInputElement>('caption').value.trim();
  // A new caption: let the SIG find V* in it again (keywords undefined).
  if (caption && state.sig) {
    showError(null);
    send({ kind: 'update', caption });
  }
});

// ---- result -------------------------------------------------------------------------------------

function against(): 'vi' | 'ir' {
  return (document.querySelector('input[name=against]:checked') as HTMLInputElement).value as 'vi' | 'ir';
}

function showFused(): void {
  if (!state.fused || !state.ir || !state.vi) return;
  $('result').hidden = false;
  drawImage($('fused'), state.fused);
  drawImage($('before'), against() === 'vi' ? state.vi : state.ir);
  $('tag-before').textContent = against().toUpperCase();
  placeSlider();
}

function placeSlider(): void {
  const v = Number($<HTMLInputElement>('slider').value);
  $('before-clip').style.width = `${v}%`;
  $('divider').style.left = `${v}%`;
  // The clipped canvas keeps the full image width so it lines up with the fused one underneath.
  $('before').style.width = `${$('compare').clientWidth}px`;
}

$('slider').addEventListener('input', placeSlider);
window.addEventListener('resize', placeSlider);
for (const r of document.querySelectorAll('input[name=against]')) r.addEventListener('change', showFused);

function showMetrics(values: Record<string, number>): void {
  for (const cell of document.querySelectorAll<HTMLElement>('#metrics td[data-metric]')) {
    const v = values[cell.dataset.metric!];
    cell.dataset.value = String(v);
    cell.textContent = v === undefined ? '' : v.toFixed(4);
  }
  $('timing').textContent = `SIG ${Math.round(timings.SIG ?? 0)} ms, fusion ${Math.round(timings.fusion ?? 0)} ms, metrics ${Math.round(timings.metrics ?? 0)} ms (in this browser)`;
}

$('download').addEventListener('click', () => {
  if (!state.fused) return;
  const f = state.fused;
  const png = encodePng({ width: f.width, height: f.height, data: f.data, channels: f.channels, depth: 8 });
  const url = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${state.stem}-tesg.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});

// ---- start --------------------------------------------------------------------------------------

setState('loading');
send({ kind: 'init', base });
loadManifest().catch((err: Error) => {
  showError(err.message);
  setState('error');
});

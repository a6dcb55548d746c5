/**
 * `tesg eval --html`: report.html beside summary.md, with its images in report_files/. Self-contained:
 * inline style, script and SVG plots; every image link points into report_files/, so the page makes
 * no request outside its folder and can be zipped or copied as it is.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EvalResult } from '../eval/run.js';
import { pairedGrid } from '../eval/paired.js';
import { summaryGrid } from '../eval/table.js';
import { findMetric } from '../metrics/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { writeGallery } from './gallery.js';
import { InputError } from '../errors.js';
import { renderPage, type ProvenanceRow } from './page.js';
import { distributionSvg } from './plots.js';
import { commandLine, readFuseManifest, tesgVersion, type FuseRunRecord } from './provenance.js';

export const REPORT_FILE = 'report.html';
export const REPORT_FILES_DIR = 'report_files';

export interface HtmlReportOptions {
  /** The command line to record (default: this process's arguments). */
  command?: string;
  /** Progress for the image files (default on; false for library use). */
  progress?: boolean;
}

function describeWeights(w: FuseRunRecord['weights']): string | null {
  if (!w) return null;
  return `${w.file}${w.sha256 ? ` (sha256 ${w.sha256})` : ''}${w.backend ? `, ${w.backend}` : ''}`;
}

/** Who made each folder: the latest tesg-fuse.json run, and a note if earlier runs used other settings. */
async function provenanceRows(r: EvalResult): Promise<ProvenanceRow[]> {
  const rows: ProvenanceRow[] = [
    { name: 'IR', dir: path.resolve(r.folders.ir), method: null, weights: null, sig: null, note: null },
    { name: 'VI', dir: path.resolve(r.folders.vi), method: null, weights: null, sig: null, note: null },
  ];
  for (const [name, dir] of Object.entries(r.folders.fused)) {
    let manifest: Awaited<ReturnType<typeof readFuseManifest>>;
    try {
      manifest = await readFuseManifest(dir);
    } catch (err) {
      // a damaged or foreign tesg-fuse.json must not cost the user the report: say so in its row
      if (!(err instanceof InputError)) throw err;
      rows.push({ name, dir: path.resolve(dir), method: null, weights: null, sig: null, note: `provenance not read: ${err.message}` });
      continue;
    }
    const last = manifest?.runs.at(-1);
    if (!manifest || !last) {
      rows.push({ name, dir: path.resolve(dir), method: null, weights: null, sig: null, note: 'no tesg-fuse.json: method, weights and SIG not recorded' });
      continue;
    }
    const settings = (run: FuseRunRecord) => JSON.stringify([run.method, run.weights?.sha256 ?? null, run.sig]);
    const mixed = new Set(manifest.runs.map(settings)).size > 1;
    rows.push({
      name,
      dir: path.resolve(dir),
      method: `${last.queue ? 'tesg queue add' : 'tesg fuse'} --method ${last.method}`,
      weights: describeWeights(last.weights),
      sig: last.sig,
      note: `${last.date}, tesg ${last.tesgVersion}` + (mixed ? `; the folder was written by ${manifest.runs.length} runs with different settings, see tesg-fuse.json` : ''),
    });
  }
  return rows;
}

/** Write report.html and report_files/ into `outDir` (replacing earlier ones); returns the page's path. */
export async function writeHtmlReport(r: EvalResult, outDir: string, opts: HtmlReportOptions = {}): Promise<string> {
  const filesDir = path.join(outDir, REPORT_FILES_DIR);
  // Build the images in a temp folder and swap it in, so an interrupted run leaves the old report whole.
  const tmpDir = path.join(outDir, `.${REPORT_FILES_DIR}.${process.pid}.tmp`);
  await fs.rm(tmpDir, { recursive: true, force: true });
  try {
    const gallery = await writeGallery(r, tmpDir, { urlBase: REPORT_FILES_DIR, progress: opts.progress });
    const metrics = r.metrics.map((name) => {
      const m = findMetric(name);
      return { name, higherIsBetter: m?.higherIsBetter ?? true, description: m?.description ?? '' };
    });
    const plots = [];
    for (const m of metrics) {
      const values = Object.fromEntries(r.methods.map((method) => [method, r.images.map((img) => img.rows[method][m.name])]));
      plots.push({ metric: m.name, svg: await distributionSvg({ metric: m.name, higherIsBetter: m.higherIsBetter, methods: r.methods, values }) });
    }
    const html = renderPage({
      title: `tesg eval: ${r.images.length} image(s), ${r.methods.join(', ')}`,
      caption: r.caption,
      grid: summaryGrid(r.summary, r.metrics),
      paired: r.paired ? { caption: r.paired.caption, grid: pairedGrid(r.paired) } : undefined,
      rowNames: r.methods,
      sourceRows: r.summary.map((s) => s.reference),
      metrics,
      plots,
      gallery,
      command: opts.command ?? commandLine(),
      version: tesgVersion(),
      date: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
      provenance: await provenanceRows(r),
    });
    await fs.rm(filesDir, { recursive: true, force: true });
    await fs.rename(tmpDir, filesDir);
    const file = path.join(outDir, REPORT_FILE);
    await writeFileAtomic(file, html);
    return file;
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

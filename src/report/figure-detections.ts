/**
 * Detections for `tesg figure --detections DIR`: the detection.json that `tesg downstream detect`
 * writes (src/downstream/report.ts): rows[] of { method, detections: { stem: [{ cls, score, box }] } }
 * with boxes normalised to the image (0..1, corners), classes[] naming cls, settings.scoreThreshold.
 * A figure column shows the detections of the row whose method name equals the column title (IR and
 * VI when detect ran with --sources / --ir / --vi).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { ScoredBox } from '../downstream/boxes.js';

export const DETECTION_FILE = 'detection.json';

/** Colours per MSRS detection class index (person, bicycle, car), distinct from the zoom boxes. */
export const CLASS_COLOURS = ['#00e5ff', '#ffdc00', '#ff8c1a'];

export interface FigureDetections {
  classes: string[];
  /** The detector's score threshold, the default lowest score drawn. */
  scoreThreshold: number;
  /** method -> stem -> detections. */
  byMethod: Map<string, Record<string, ScoredBox[]>>;
}

/** Read DIR/detection.json (or a detection.json file given directly). */
export async function readDetections(dirOrFile: string): Promise<FigureDetections> {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, DETECTION_FILE);
  let doc: { classes?: unknown; settings?: { scoreThreshold?: unknown }; rows?: unknown };
  try {
    doc = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file; give the --out folder of `tesg downstream detect`' : `not readable JSON (${(err as Error).message})`);
  }
  const rows = doc.rows;
  if (!Array.isArray(doc.classes) || !Array.isArray(rows) || rows.some((r) => typeof r?.method !== 'string' || typeof r?.detections !== 'object')) {
    throw new InputError(file, 'expected the detection.json of `tesg downstream detect` (classes[], rows[] with method and detections)');
  }
  return {
    classes: doc.classes.map(String),
    scoreThreshold: typeof doc.settings?.scoreThreshold === 'number' ? doc.settings.scoreThreshold : 0.2,
    byMethod: new Map(rows.map((r: { method: string; detections: Record<string, ScoredBox[]> }) => [r.method, r.detections])),
  };
}

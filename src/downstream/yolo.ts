import { promises as fs } from 'node:fs';
import { InputError } from '../errors.js';
import { fromCenter, type GroundTruth } from './boxes.js';

/**
 * Parse one YOLO label file: one object per line, `class cx cy w h`, normalised to the image.
 * Blank lines, runs of spaces/tabs, trailing spaces and a missing final newline are accepted (the
 * MSRS files have all of them); anything else is an InputError naming the file and line.
 */
export function parseYolo(text: string, file: string, classCount: number): GroundTruth[] {
  const out: GroundTruth[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/).filter((f) => f.length > 0);
    if (fields.length === 0) continue;
    const where = `line ${i + 1}`;
    if (fields.length !== 5) {
      throw new InputError(file, `${where}: expected 5 fields "class cx cy w h", got ${fields.length}`);
    }
    const [c, cx, cy, w, h] = fields.map(Number);
    if (!Number.isInteger(c) || c < 0 || c >= classCount) {
      throw new InputError(file, `${where}: class must be an integer 0..${classCount - 1}, got "${fields[0]}"`);
    }
    const names = ['cx', 'cy', 'w', 'h'];
    for (let k = 0; k < 4; k++) {
      const v = [cx, cy, w, h][k];
      if (!Number.isFinite(v) || v < 0 || v > 1) {
        throw new InputError(file, `${where}: ${names[k]} must be a number in 0..1 (normalised), got "${fields[k + 1]}"`);
      }
    }
    out.push({ cls: c, box: fromCenter(cx, cy, w, h) });
  }
  return out;
}

export async function readYolo(file: string, classCount: number): Promise<GroundTruth[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read label file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseYolo(text, file, classCount);
}

/**
 * Read `classes.txt` (one `index name` or `name` per line) when the label folder has one, so the
 * table can name classes as the data set does. Returns null when absent.
 */
export async function readClassNames(file: string): Promise<string[] | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const names: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/).filter(Boolean);
    if (f.length === 0) continue;
    if (f.length >= 2 && /^\d+$/.test(f[0])) names[Number(f[0])] = f.slice(1).join(' ');
    else names.push(f.join(' '));
  }
  return names;
}

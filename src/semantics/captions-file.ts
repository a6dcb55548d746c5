import { promises as fs } from 'node:fs';
import { InputError } from '../errors.js';

/**
 * A captions file for folders: per image stem, the caption T (and optionally V*) the user wants.
 *   JSON: { "00537D": "two persons crossing the road", "01102N": { "caption": "...", "keywords": ["person"] } }
 *   TSV:  stem<TAB>caption[<TAB>keyword,keyword]   (lines starting with # are comments)
 */
export interface UserText {
  caption?: string;
  keywords?: string[];
}

export async function readCaptionsFile(file: string): Promise<Map<string, UserText>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read the captions file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const out = new Map<string, UserText>();
  if (/^\s*\{/.test(text)) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new InputError(file, `not valid JSON (${(err as Error).message})`);
    }
    for (const [stem, v] of Object.entries(obj)) {
      if (typeof v === 'string') out.set(stem, { caption: v });
      else if (v && typeof v === 'object') {
        const { caption, keywords } = v as { caption?: unknown; keywords?: unknown };
        if ((caption !== undefined && typeof caption !== 'string') || (keywords !== undefined && !(Array.isArray(keywords) && keywords.every((k) => typeof k === 'string')))) {
          throw new InputError(file, `entry '${stem}': expected {"caption": string, "keywords": [string]}`);
        }
        out.set(stem, { caption: caption as string | undefined, keywords: keywords as string[] | undefined });
      } else throw new InputError(file, `entry '${stem}': expected a caption string or {"caption", "keywords"}`);
    }
    return out;
  }
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const [stem, caption, kws] = line.split('\t');
    if (!stem || caption === undefined) throw new InputError(file, `line ${i + 1}: expected stem<TAB>caption[<TAB>keyword,keyword]`);
    out.set(stem.trim(), {
      caption: caption.trim() || undefined,
      keywords: kws ? kws.split(',').map((k) => k.trim()).filter(Boolean) : undefined,
    });
  });
  return out;
}

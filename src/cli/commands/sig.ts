import type { Command } from 'commander';
import { InputError, MismatchError, UsageError } from '../../errors.js';
import { readImage } from '../../image/read.js';
import { countUnmatched, describeUnmatched, pairByStem, type Pairing } from '../../util/pairing.js';
import { createProgress } from '../../util/progress.js';
import { hasSigEntry, openSigCache, writeSigEntry } from '../../semantics/cache.js';
import { readCaptionsFile, type UserText } from '../../semantics/captions-file.js';
import { toCocoClass } from '../../semantics/default-provider.js';
import { canonicalKeyword, DEFAULT_SIG_VERSION, defaultProviders, parseSigVersion, runSig, sigVersionOfMasker, type SigProviders } from '../../semantics/sig.js';
import { loadOnnxProviders, type OnnxProviders } from '../../semantics/onnx-providers.js';
import { checkOutputPath } from '../../util/output-path.js';

/**
 * `tesg sig --ir DIR --vi DIR --out DIR`: precompute the SIG outputs (masks, caption, keywords, text
 * embedding) of every pair into a cache that training reads. Resumable: complete entries are skipped.
 */
interface SigCli {
  ir: string;
  vi: string;
  out: string;
  overlay?: boolean;
  caption?: string;
  keyword: string[];
  captions?: string;
  allowMissing?: boolean;
  force?: boolean;
  /** The same as force, under the name `tesg fuse` uses for the same job. */
  overwrite?: boolean;
  sd?: string;
  captioner?: string;
  sigVersion: string;
}

export function register(program: Command): void {
  program
    .command('sig')
    .description('precompute and cache SIG masks (PNG), captions/keywords (JSON) and text embeddings per image pair')
    .requiredOption('--ir <dir>', 'folder of infrared images')
    .requiredOption('--vi <dir>', 'folder of visible images (paired with --ir by file-name stem)')
    .requiredOption('--out <dir>', 'cache folder (mask_vis/, mask_ir/, mask/, embed/, text/, sig.json)')
    .option('--overlay', 'also write overlay/<stem>.png: masks over VI (red: M_vis, cyan: M_ir, yellow: both)')
    .option('--caption <text>', 'use this caption T for every pair instead of the captioner')
    .option('--keyword <word>', 'key object V* (repeatable), e.g. --keyword person; overrides the keywords found in T', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--captions <file>', 'per-stem captions: JSON {"stem": "caption"} or TSV stem<TAB>caption[<TAB>kw,kw]')
    .option('--allow-missing', 'process the complete pairs and list the files without a partner, instead of stopping')
    .option('--force', 'recompute entries that are already in the cache')
    .option('--overwrite', 'the same as --force (the name tesg fuse uses)')
    .option('--sd <dir>', 'paper-faithful masks and text embedding from a Stable Diffusion ONNX export folder (docs/onnx-sig.md)')
    .option('--captioner <dir>', 'paper-faithful captions from a BLIP / ViT-GPT2 ONNX export folder (docs/onnx-sig.md)')
    .option('--sig-version <v>', `built-in SIG: v3 (detector + IR warm objects, at night weak boxes confirmed by a second sighting, tighter ellipses, grown warm objects; what the default tesg-v2.2 was trained with) | v2 (detector + IR warm objects; tesg-v2 and tesg-v2.1) | v1 (detector only; tesg-v1)`, DEFAULT_SIG_VERSION)
    .action(async (o: SigCli) => sig({ ...o, force: o.force || o.overwrite }));
}

async function sig(o: SigCli): Promise<void> {
  const version = parseSigVersion(o.sigVersion);
  checkOutputPath(o.out, 'folder', '--out takes a folder (created if missing) for the SIG cache; give a new or existing cache folder');
  const { matched, unmatched } = await pairByStem({ ir: o.ir, vi: o.vi });
  const lone = countUnmatched(unmatched);
  if (lone > 0 && !o.allowMissing) {
    throw new MismatchError(`${lone} image(s) without a partner (${describeUnmatched(unmatched)}); add them or pass --allow-missing`);
  }
  if (matched.length === 0) throw new InputError(o.ir, `no image pairs with the same name stem in ${o.ir} and ${o.vi}`);
  const perStem: Map<string, UserText> = o.captions ? await readCaptionsFile(o.captions) : new Map();
  if (o.captions && o.caption) throw new UsageError('give either --caption (one caption for all) or --captions FILE, not both');
  for (const stem of perStem.keys()) {
    if (!matched.some((m) => m.stem === stem)) process.stderr.write(`tesg sig: note: ${o.captions} names '${stem}', which is not among the pairs\n`);
  }
  // Check user keywords before any work: the built-in masker can only find COCO classes.
  if (!o.sd) for (const k of [...o.keyword, ...[...perStem.values()].flatMap((u) => u.keywords ?? [])]) toCocoClass(canonicalKeyword(k));
  const onnx = o.sd || o.captioner ? await loadOnnxProviders({ diffusion: o.sd, captioner: o.captioner }) : undefined;
  try {
    await sigWith(o, matched, perStem, lone, unmatched, withOnnx(defaultProviders({ version }), onnx));
  } finally {
    await onnx?.release();
  }
}

/** The built-in default, with whatever the ONNX export folders provide taking its place. */
function withOnnx(base: SigProviders, onnx?: OnnxProviders): SigProviders {
  return {
    captioner: onnx?.caption ?? base.captioner,
    masker: onnx?.mask ?? base.masker,
    encoder: onnx?.textEncoder ?? base.encoder,
  };
}

async function sigWith(
  o: SigCli,
  matched: Pairing['matched'],
  perStem: Map<string, UserText>,
  lone: number,
  unmatched: Pairing['unmatched'],
  providers: SigProviders,
): Promise<void> {
  await openSigCache(o.out, { textEncoderId: providers.encoder.id, tokens: providers.encoder.tokens, dim: providers.encoder.dim, captioner: providers.captioner.name, masker: providers.masker.name }, { force: o.force });

  const todo = [];
  for (const m of matched) if (o.force || !(await hasSigEntry(o.out, m.stem))) todo.push(m);
  if (todo.length < matched.length) process.stderr.write(`tesg sig: ${matched.length - todo.length} of ${matched.length} pairs already cached, skipping them\n`);
  const progress = createProgress({ label: 'sig', total: todo.length });
  for (const m of todo) {
    const [ir, vi] = await Promise.all([readImage(m.files.ir), readImage(m.files.vi)]);
    if (ir.width !== vi.width || ir.height !== vi.height) {
      throw new MismatchError(`${m.files.ir} is ${ir.width}x${ir.height} but ${m.files.vi} is ${vi.width}x${vi.height}; a pair must be aligned and the same size`);
    }
    const user = perStem.get(m.stem) ?? {};
    const caption = user.caption ?? o.caption;
    const keywords = user.keywords ?? (o.keyword.length ? o.keyword : undefined);
    const r = await runSig({ ir, vi, caption, keywords, providers });
    await writeSigEntry(o.out, m.stem, r, providers.encoder.tokens, providers.encoder.dim, {
      captionSource: caption !== undefined ? 'user' : providers.captioner.name,
      keywordSource: keywords ? 'user' : 'caption',
      overlayOf: o.overlay ? vi : undefined,
    });
    progress.tick(1, m.stem);
  }
  progress.done();
  if (lone > 0) process.stderr.write(`tesg sig: skipped files without a partner: ${describeUnmatched(unmatched)}\n`);
  const version = sigVersionOfMasker(providers.masker.name);
  process.stdout.write(`SIG cache: ${o.out} (${matched.length} pairs, ${version ? `built-in SIG ${version}, ` : ''}text encoder ${providers.encoder.id})\n`);
}

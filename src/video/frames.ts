import type { Image8 } from '../image/types.js';
import { readFrames, type DecodeOptions } from './decode.js';
import { sourceIndex, type FrameMap } from './pairing.js';
import type { VideoPlan } from './plan.js';
import type { SourceInfo } from './probe.js';
import type { IndexedPair } from './temporal-sig.js';

/**
 * Output frames [from, to) of a plan as IR/VI pairs: each input is decoded once, in order, from the
 * first source frame the range needs to the last (both decoders run side by side), and output frame j
 * gets the source frames its pairing maps it to (./pairing.ts).
 */
export async function* pairedFrames(plan: Pick<VideoPlan, 'ir' | 'vi' | 'pairing' | 'stretch'>, from: number, to: number, opts: Omit<DecodeOptions, 'stretch'> = {}): AsyncGenerator<IndexedPair> {
  if (to <= from) return;
  const ir = new Cursor(plan.ir, plan.pairing.ir, from, to, { ...opts, stretch: plan.stretch });
  const vi = new Cursor(plan.vi, plan.pairing.vi, from, to, { ...opts, stretch: plan.stretch });
  try {
    for (let j = from; j < to; j++) {
      const [irFrame, viFrame] = await Promise.all([ir.at(j), vi.at(j)]);
      yield { index: j, ir: irFrame, vi: viFrame };
    }
  } finally {
    await Promise.all([ir.close(), vi.close()]);
  }
}

/** Sequential access to the source frames output frames [from, to) map to. */
class Cursor {
  private readonly it: AsyncGenerator<Image8>;
  private pos: number;
  private current?: Image8;

  constructor(private readonly info: SourceInfo, private readonly map: FrameMap, from: number, to: number, opts: DecodeOptions) {
    const first = sourceIndex(map, from), last = sourceIndex(map, to - 1);
    this.it = readFrames(info, first, last - first + 1, opts);
    this.pos = first - 1;
  }

  async at(j: number): Promise<Image8> {
    const want = sourceIndex(this.map, j);
    while (this.pos < want) {
      const r = await this.it.next();
      // readFrames throws when the source is short; running out here would be a pairing bug.
      if (r.done) throw new Error(`${this.info.path}: source frame ${this.pos + 1} missing`);
      this.current = r.value;
      this.pos++;
    }
    return this.current!;
  }

  async close(): Promise<void> {
    await this.it.return(undefined);
  }
}

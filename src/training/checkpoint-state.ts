import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readTensorFileMetadata } from '../model/safetensors.js';

/**
 * The checkpoint's file name and its training-state record, readable without tfjs or the tensors
 * (for commands that only look at a run: `tesg plot-log`, and `tesg train --resume`'s option checks).
 * The writer and the full reader are ./checkpoint.ts.
 */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** Metadata key of the training state (TrainState as JSON) in a checkpoint. */
export const STATE_KEY = 'tesg_train';

/**
 * The training state of the checkpoint in `outDir`, parsed; undefined when there is no checkpoint or
 * it has no state. InputError naming the file when the state is not JSON, ending with `hint` (what
 * the user can do instead).
 */
export async function readCheckpointState(outDir: string, hint: string): Promise<Record<string, unknown> | undefined> {
  const file = path.join(outDir, CHECKPOINT_FILE);
  if (!existsSync(file)) return undefined;
  const raw = (await readTensorFileMetadata(file))[STATE_KEY];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(file, `its ${STATE_KEY} metadata is not JSON (${(err as Error).message}): ${hint}`);
  }
}

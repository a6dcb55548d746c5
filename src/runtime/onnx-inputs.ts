/**
 * What an ONNX model declares about its inputs and outputs, and the input look-ups shared by
 * `OnnxModel` (./onnx.ts, the session on the calling thread) and `OnnxThreadModel` (./onnx-thread.ts,
 * the session on a worker). This module does not import onnxruntime-node: onnx-thread.ts runs on the
 * main thread and must not load the native runtime there (the point of the worker is that the
 * session, and the runtime's own start-up, happen off the main thread).
 */
import { InputError } from '../errors.js';

/** What the model file declares about one input or output. Symbolic dims are strings ("batch"). */
export interface ValueInfo {
  name: string;
  /** onnxruntime's element type name ('float32', 'int64', ...), or 'non-tensor'. */
  type: string;
  shape: ReadonlyArray<number | string>;
}

/**
 * The input surface of a loaded ONNX model: `file` (the model's path, named in errors) and the
 * `inputs` the file declares (read from the session). Subclasses provide both.
 */
export abstract class OnnxInputs {
  abstract readonly file: string;
  abstract readonly inputs: ReadonlyArray<ValueInfo>;

  /** The declared input called `name`, or undefined when the model has none. */
  input(name: string): ValueInfo | undefined {
    return this.inputs.find((i) => i.name === name);
  }

  /** Whether the model declares an input called `name`. */
  hasInput(name: string): boolean {
    return this.input(name) !== undefined;
  }

  /**
   * Throws an InputError naming the file when the model lacks an input the caller relies on:
   * "<file>: model has no input 'a', 'b' (its inputs: x, y)". Returns nothing when all are declared.
   */
  requireInputs(...names: string[]): void {
    const absent = names.filter((n) => !this.hasInput(n));
    if (absent.length > 0) {
      throw new InputError(
        this.file,
        `model has no input ${absent.map((n) => `'${n}'`).join(', ')} (its inputs: ${this.inputs.map((i) => i.name).join(', ')})`,
      );
    }
  }
}

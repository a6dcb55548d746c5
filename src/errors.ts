/**
 * Typed errors. Every error a user can cause (bad file, bad option, bad data) is a TesgError:
 * the CLI prints its message as one line and exits non-zero; anything else is a bug and prints a stack.
 * Messages say what was expected, what was found, the file, and what to do.
 */
export class TesgError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A problem with an input file: missing, unreadable, corrupt, unsupported format or depth. */
export class InputError extends TesgError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** Two or more images that must agree (size, count, pairing) do not. */
export class MismatchError extends TesgError {}

/** A bad option or argument value. */
export class UsageError extends TesgError {}

/** Training diverged (NaN/Inf) or a checkpoint is unusable. */
export class TrainingError extends TesgError {}

/** The job queue (Redis) cannot be reached or refuses a command (`tesg queue`, `tesg worker`). */
export class QueueError extends TesgError {}

/**
 * The SIG detector on two cores. tfjs-wasm runs one thread per instance in Node
 * (src/runtime/backend.ts), so the built-in SIG's two CenterNet runs per pair (VI and IR, about
 * 0.2 s each) ran one after the other on one core. ParallelDetector keeps a CenterNetDetector on this
 * thread and a second one on a worker thread (./detector-worker.ts, which loads tfjs wasm and the model
 * itself), and gives each detect() call to whichever is free: ThermalSig's Promise.all over VI and IR
 * then runs both at once. Results are the same Detection[] the main thread's detector returns, to the
 * bit (same wasm binary, same model, same code; test/semantics-detector-pool.test.ts checks it).
 *
 * Cold start: the worker starts with the pool, or after the first `workerAfter` calls (the SIG's pool:
 * after one pair, SIG_WORKER_AFTER, so a one-pair `tesg fuse` never pays for a second tfjs). A call
 * waits only for the first free detector, so a worker still loading never delays a run (the main
 * thread takes the image instead). Images go to the worker as transferred copies (a 640x480 RGB image: 0.9 MB, well under a millisecond). The
 * worker is unref'd while it has nothing to do (it never keeps a CLI process alive) and terminated by
 * dispose().
 *
 * The worker file is ./detector-worker.js in dist and ./detector-worker.ts under tsx (tests, dev),
 * where it starts from a bootstrap that registers tsx first (a worker does not inherit the main
 * thread's loader hooks). Its path is built with node:path, not `new URL(.., import.meta.url)`, so the
 * browser build (web/, which bundles default-provider.ts) does not try to bundle a Node worker.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError, MismatchError, TesgError, UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { backendReport } from '../runtime/backend.js';
import type { ObjectDetector } from './default-provider.js';
import { CenterNetDetector, type Detection, type DetectOptions } from './detector.js';
import type { DetectorWorkerReply, DetectorWorkerSetup, DetectRequest, WorkerError } from './detector-worker.js';

export { defaultDetectorWorkers, DETECTOR_WORKERS_ENV } from './sig-detector.js';
import { defaultDetectorWorkers } from './sig-detector.js';

const HERE = fileURLToPath(import.meta.url);
const OWN_EXT = path.extname(HERE);
const WORKER_FILE = path.join(path.dirname(HERE), `detector-worker${OWN_EXT}`);

/** A detector the SIG owns: detect, and dispose when done (sync for CenterNetDetector, async here). */
export type OwnedDetector = ObjectDetector & { dispose(): void | Promise<void> };

/**
 * Detect calls the SIG's pool makes on this thread before it starts its worker: one pair's (VI, IR).
 * A worker only pays off from the second pair on: a fresh thread needs about 0.75 s of CPU (tfjs
 * imports 0.3 s, model 0.05 s, a first run with XNNPACK set-up 0.4 s) before it delivers a detection
 * that this thread, already warm, computes in about 0.23 s. Started with the first pair, it made a cold
 * one-pair `tesg fuse` use 0.5 s more CPU and take longer on a loaded 2-core machine; started with
 * the second pair, it loads while that pair runs here, and a one-pair run never starts it.
 */
export const SIG_WORKER_AFTER = 2;

/**
 * The SIG's own detector: a ParallelDetector (this thread + 1 worker, started at the second pair,
 * SIG_WORKER_AFTER) when `workers` (default defaultDetectorWorkers()) is 1, else a plain
 * CenterNetDetector. `modelJson`: the CenterNet model.json (default:
 * node_modules/@vladmandic/human/models/centernet.json). Resolves once this thread's detector is
 * loaded. Errors: those of CenterNetDetector.load (an InputError naming an unreadable model file).
 */
export async function loadSigDetector(workers: 0 | 1 = defaultDetectorWorkers(), modelJson?: string): Promise<OwnedDetector> {
  if (workers === 0) return CenterNetDetector.load(modelJson);
  const pool = new ParallelDetector({ modelJson, workerAfter: SIG_WORKER_AFTER });
  await pool.loaded;
  return pool;
}

export interface ParallelDetectorOptions {
  /** model.json of the CenterNet graph, for both detectors (default: the one in node_modules). */
  modelJson?: string;
  /**
   * Start the worker thread once this many detect() calls have been made (default 0: at
   * construction, loading alongside this thread's detector). Calls before then run on this thread.
   */
  workerAfter?: number;
}

interface Job {
  img: Image8;
  opts?: DetectOptions;
  resolve: (d: Detection[]) => void;
  reject: (e: Error) => void;
}

/**
 * A job posted to the worker: `claim` says who runs it; `early` when posted while the worker was
 * still loading (only such a job may be taken back); `taken` once this thread took it back.
 */
interface WorkerJob extends Job {
  id: number;
  claim: Int32Array;
  early: boolean;
  taken: boolean;
}

type SlotState = 'off' | 'loading' | 'idle' | 'busy' | 'dead';

/** Values of DetectRequest.claim (./detector-worker.ts): who runs a request posted to the worker. */
export const CLAIM_FREE = 0;
export const CLAIM_WORKER = 1;
export const CLAIM_MAIN = 2;

/**
 * CenterNet on this thread plus one on a worker thread, behind ObjectDetector. Concurrent detect()
 * calls go to whichever detector is free (the worker first when both are), later ones wait in arrival
 * order. Construction starts loading this thread's detector, and the worker's (at once, or after
 * `workerAfter` calls); `loaded` resolves when this thread's detector is loaded (or rejects with its
 * load error, which every detect() call then rejects with too).
 *
 * Cold start: while the worker loads, one call is posted to it ahead (it runs the moment the worker is
 * ready, even while this thread is busy in a run of its own); if this thread is free first and the
 * worker has not started that call, this thread takes it back (an atomic claim decides), so a slow
 * worker never makes a call later than this thread alone would. A worker that fails to load, crashes
 * or exits is dropped and this thread runs everything from then on (a call it was running rejects
 * with the worker's error). Not for the browser (node:worker_threads).
 */
export class ParallelDetector implements ObjectDetector {
  /** Resolves when this thread's detector is ready; rejects with its load error. */
  readonly loaded: Promise<void>;
  /** Detections computed so far per detector: 'main' (this thread) and 'worker'. */
  readonly served = { main: 0, worker: 0 };
  /**
   * Resolves true once the worker has loaded its model and takes calls, false if it was dropped first
   * (see workerError) or the pool disposed. Never rejects; pending while a deferred worker (workerAfter)
   * has not started. Calls need not wait for it.
   */
  readonly workerLoaded: Promise<boolean>;
  /** Why the worker was dropped (load failure, crash, non-wasm backend here), if it was. */
  workerError?: Error;

  private main?: CenterNetDetector;
  private mainState: SlotState = 'loading';
  private workerState: SlotState = 'off';
  private worker?: Worker;
  private readonly workerAfter: number;
  private readonly modelJson?: string;
  private calls = 0;
  private readonly queue: Job[] = [];
  private inWorker?: WorkerJob;
  private nextId = 1;
  private failure?: Error;
  private disposed = false;
  private settleWorkerLoaded!: (ok: boolean) => void;

  constructor(options: ParallelDetectorOptions = {}) {
    this.workerLoaded = new Promise((resolve) => (this.settleWorkerLoaded = resolve));
    this.modelJson = options.modelJson;
    this.workerAfter = options.workerAfter ?? 0;
    if (this.workerAfter <= 0) this.startWorker();
    this.loaded = CenterNetDetector.load(options.modelJson).then(
      (d) => {
        this.main = d;
        this.mainState = 'idle';
        // Byte-identical results need the same backend in both threads; the worker always runs wasm.
        const backend = backendReport()?.backend;
        if (backend !== 'wasm') this.dropWorker(new Error(`this thread runs tfjs on '${backend}', the worker on 'wasm'`));
        this.pump();
      },
      (err: Error) => {
        this.failure = err;
        this.mainState = 'dead';
        this.dropWorker(err);
        for (const job of this.queue.splice(0)) job.reject(err);
        throw err;
      },
    );
    this.loaded.catch(() => {}); // also reported through detect()
  }

  /**
   * Detect objects in `img` (H x W x 1 or 3, 8-bit): as CenterNetDetector.detect, on whichever
   * detector is free. Errors: the main detector's load error; a detection error of either thread
   * (from the worker rebuilt as an Error of the same name and message, an InputError keeping its
   * file); an Error after dispose().
   */
  detect(img: Image8, opts?: DetectOptions): Promise<Detection[]> {
    if (this.disposed) return Promise.reject(new Error('ParallelDetector: detect() after dispose()'));
    if (this.failure) return Promise.reject(this.failure);
    if (++this.calls > this.workerAfter && this.workerState === 'off') this.startWorker();
    return new Promise<Detection[]>((resolve, reject) => {
      this.queue.push({ img, opts, resolve, reject });
      this.pump();
    });
  }

  /** Whether the worker thread is loaded and taking calls now (false while loading and once dropped). */
  get workerReady(): boolean {
    return this.workerState === 'idle' || this.workerState === 'busy';
  }

  /** Terminate the worker and free this thread's model; calls still waiting reject. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const err = new Error('ParallelDetector disposed');
    for (const job of this.queue.splice(0)) job.reject(err);
    const posted = this.inWorker;
    this.inWorker = undefined;
    if (posted && !posted.taken) posted.reject(err);
    this.workerState = 'dead';
    this.settleWorkerLoaded(false);
    await this.worker?.terminate();
    await this.loaded.catch(() => {});
    this.main?.dispose();
    this.main = undefined;
  }

  private startWorker(): void {
    this.workerState = 'loading';
    const worker = (this.worker = spawnWorker({ modelJson: this.modelJson }));
    worker.unref();
    worker.on('message', (m: DetectorWorkerReply) => this.onReply(m));
    worker.on('error', (err) => this.dropWorker(new Error(`detector worker failed: ${err.message}`)));
    worker.on('exit', (code) => this.dropWorker(new Error(`detector worker exited (code ${code})`)));
  }

  /** Hand waiting calls to free detectors (see the class comment for the order). */
  private pump(): void {
    for (;;) {
      if (this.queue.length > 0 && this.workerState === 'idle') this.runOnWorker(this.queue.shift()!);
      else if (this.mainState === 'idle' && this.queue.length > 0) this.runOnMain(this.queue.shift()!);
      else if (this.mainState === 'idle' && this.takeBack()) continue;
      else if (this.queue.length > 0 && this.workerState === 'loading' && !this.inWorker) this.runOnWorker(this.queue.shift()!);
      else return;
    }
  }

  /** Take the call posted to the worker back to this thread if the worker has not started it. */
  private takeBack(): boolean {
    const job = this.inWorker;
    if (!job || !job.early || job.taken || Atomics.compareExchange(job.claim, 0, CLAIM_FREE, CLAIM_MAIN) !== CLAIM_FREE) return false;
    job.taken = true;
    // The worker will answer 'skipped'; this thread no longer waits for it.
    this.worker?.unref();
    this.runOnMain(job);
    return true;
  }

  private runOnMain(job: Job): void {
    this.mainState = 'busy';
    // CenterNet's execute blocks this thread for the whole run: start it on the next turn, so that
    // calls made in the same tick (ThermalSig's Promise.all) reach the worker first.
    setImmediate(() => {
      const main = this.main;
      if (!main) {
        job.reject(new Error('ParallelDetector disposed'));
        return;
      }
      main
        .detect(job.img, job.opts)
        .then(
          (d) => {
            this.served.main++;
            job.resolve(d);
          },
          (e: Error) => job.reject(e),
        )
        .finally(() => {
          if (this.mainState === 'busy') this.mainState = 'idle';
          this.pump();
        });
    });
  }

  private runOnWorker(job: Job): void {
    const id = this.nextId++;
    const claim = new Int32Array(new SharedArrayBuffer(4));
    this.inWorker = { ...job, id, claim, early: this.workerState === 'loading', taken: false };
    // A copy of the pixels, transferred (the caller keeps its image; nothing is cloned twice).
    const data = job.img.data.slice();
    const req: DetectRequest = { id, img: { width: job.img.width, height: job.img.height, channels: job.img.channels, data }, opts: job.opts, claim };
    try {
      this.worker!.postMessage(req, [data.buffer]);
    } catch (err) {
      // E.g. options that cannot be cloned (a DataCloneError): this call fails, the worker stays free.
      this.inWorker = undefined;
      job.reject(err as Error);
      return;
    }
    if (this.workerState === 'idle') this.workerState = 'busy';
    this.worker!.ref();
  }

  private onReply(m: DetectorWorkerReply): void {
    if (m.kind === 'ready') {
      if (this.workerState === 'loading') this.workerState = this.inWorker ? 'busy' : 'idle';
      this.settleWorkerLoaded(this.workerState !== 'dead');
      this.pump();
      return;
    }
    if (m.kind === 'load-failed') {
      this.dropWorker(rebuildError(m.error));
      return;
    }
    const job = this.inWorker;
    if (!job || job.id !== m.id) return;
    this.inWorker = undefined;
    this.worker?.unref();
    if (this.workerState === 'busy') this.workerState = 'idle';
    if (!job.taken) {
      if (m.kind === 'result') {
        this.served.worker++;
        job.resolve(m.detections);
      } else if (m.kind === 'error') {
        job.reject(rebuildError(m.error));
      }
    }
    this.pump();
  }

  /**
   * Stop using the worker: a call it had started rejects with `err`; a call it had not started
   * goes back to this thread; this thread takes the rest.
   */
  private dropWorker(err: Error): void {
    if (this.workerState === 'dead') return;
    this.workerState = 'dead';
    this.settleWorkerLoaded(false);
    if (!this.disposed) this.workerError = err;
    void this.worker?.terminate();
    const job = this.inWorker;
    this.inWorker = undefined;
    if (job && !job.taken) {
      const started = Atomics.compareExchange(job.claim, 0, CLAIM_FREE, CLAIM_MAIN) !== CLAIM_FREE;
      if (started) job.reject(err);
      else this.queue.unshift(job);
    }
    this.pump();
  }
}

function spawnWorker(setup: DetectorWorkerSetup): Worker {
  if (OWN_EXT !== '.ts') return new Worker(WORKER_FILE, { workerData: setup });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = pathToFileURL(WORKER_FILE).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry)}));`;
  return new Worker(boot, { eval: true, workerData: setup });
}

/** A worker's error as an Error of the same name and message (TeSG's own error classes kept). */
function rebuildError(e: WorkerError): Error {
  let err: Error;
  if (e.name === 'InputError' && e.file !== undefined) err = new InputError(e.file, e.message.slice(e.file.length + 2));
  else if (e.name === 'UsageError') err = new UsageError(e.message);
  else if (e.name === 'MismatchError') err = new MismatchError(e.message);
  else if (e.name === 'TesgError') err = new TesgError(e.message);
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = `${e.stack}\n    at (detector worker thread)`;
  return err;
}

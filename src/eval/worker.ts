/**
 * Worker-thread entry for `tesg eval`: receives StemTasks, answers StemOutcomes. Loaded as
 * ./worker.ts under tsx (tests, dev) and ./worker.js from dist; see ./pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { scoreStem } from './score.js';
import type { StemTask } from './types.js';

export type WorkerReply = { id: number; outcome?: Awaited<ReturnType<typeof scoreStem>>; crash?: string };

if (!parentPort) throw new Error('src/eval/worker is a worker_threads entry, not a program');
const port = parentPort;
port.on('message', (msg: { id: number; task: StemTask }) => {
  scoreStem(msg.task).then(
    (outcome) => port.postMessage({ id: msg.id, outcome } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: msg.id, crash: (err as Error)?.stack ?? String(err) } satisfies WorkerReply),
  );
});

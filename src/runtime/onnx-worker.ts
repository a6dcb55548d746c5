/**
 * Worker-thread entry for OnnxThreadModel (./onnx-thread.ts): holds one OnnxModel and answers
 * load / run / release requests in order. Errors go back as data (name, message, file).
 */
import { parentPort } from 'node:worker_threads';
import { OnnxModel } from './onnx.js';
import type { OnnxReply, OnnxRequest } from './onnx-thread.js';

if (!parentPort) throw new Error('src/runtime/onnx-worker is a worker_threads entry, not a program');
const port = parentPort;
let model: OnnxModel | undefined;

async function handle(msg: OnnxRequest): Promise<unknown> {
  switch (msg.op) {
    case 'load':
      model = await OnnxModel.load(msg.file, msg.options);
      return { inputs: model.inputs, outputs: model.outputs };
    case 'run':
      if (!model) throw new Error('run before load');
      return model.run(msg.feeds, msg.outputNames);
    case 'release':
      await model?.release();
      model = undefined;
      return null;
  }
}

// One request at a time, in arrival order (onnxruntime sessions are not re-entrant from one thread anyway).
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: OnnxRequest) => {
  queue = queue.then(async () => {
    let reply: OnnxReply;
    try {
      reply = { id: msg.id, value: await handle(msg) };
    } catch (err) {
      const e = err as Error & { file?: string };
      reply = { id: msg.id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), file: e?.file } };
    }
    port.postMessage(reply);
  });
});

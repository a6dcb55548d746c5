import { createRequire } from 'node:module';
const ort = createRequire(import.meta.url)('onnxruntime-node');
const [src, level, out] = process.argv.slice(2);
await ort.InferenceSession.create(src, { graphOptimizationLevel: level, optimizedModelFilePath: out, intraOpNumThreads: 1 });

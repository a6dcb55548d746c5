// The processor when tesg runs from source through tsx (tests, development): a worker thread does not
// inherit the main thread's `--import tsx` hooks, so register them here, then load processor.ts.
// Built tesg (dist/) hands BullMQ dist/queue/processor.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
const { default: processJob } = await import('./processor.ts');
export default processJob;

import { fusionMethodNames, registerFusionMethod } from '../fusion/index.js';
import { TesgFusion } from '../fusion/tesg-method.js';

/**
 * The queue fuses with any registered method, the TeSG network included. The CLI registers the network
 * when `tesg fuse` loads; a library user who only imports the queue gets it registered here, once.
 */
export function ensureTesgMethod(): void {
  if (!fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());
}

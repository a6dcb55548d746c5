/** Fusion methods: the registry plus the classic baselines, registered on first import. */
import { averageFusion, maxFusion } from './classic.js';
import { laplacianFusion } from './laplacian.js';
import { registerFusionMethod } from './registry.js';

for (const m of [averageFusion, maxFusion, laplacianFusion]) registerFusionMethod(m);

export { averageFusion, maxFusion } from './classic.js';
export { laplacianFusion, DEFAULT_PYRAMID_LEVELS } from './laplacian.js';
export { fuseLuminance, type PlaneCombiner } from './luminance.js';
export {
  DEFAULT_FUSION_METHOD,
  fusionMethodNames,
  getFusionMethod,
  listFusionMethods,
  registerFusionMethod,
  type FuseOptions,
  type FusionMethod,
} from './registry.js';
export {
  fuseFiles,
  fuseFolders,
  planFolderPairs,
  type FolderPair,
  type FuseFilesOptions,
  type FuseFoldersOptions,
  type FuseFoldersReport,
  type FuseStage,
} from './files.js';

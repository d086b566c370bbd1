export { ensureImage, type BuiltImage, type EnsureImageOptions } from './build.ts';
export { ensureBaseImage, localBaseTag, imageId, type BaseImage, type BaseMode, type BaseSuite } from './base.ts';
export { listImages, pruneImages, type ImageEntry } from './catalog.ts';
export { ensureWorkerImage, workerImage, workerFiles, type WorkerFiles } from './worker.ts';
export { recipeHash, pinnedTag, versionTag, type ImageRecipe } from './recipe.ts';
export { loadImages, registryRef, type ImageTarget, type LoadedImage, type LoadOptions } from './load.ts';
export { expectedImageIds, imagePolicy, presentImage, type ImagePolicy, type PresentPolicy } from './present.ts';

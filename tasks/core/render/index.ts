export { generate, GenerateOptions, RenderedTree, RenderedEnvironmentSet, RenderedFile, RenderStats } from './generate';
export { install, InstallResult } from './installTree';
export { RenderOptions } from './session';
export { Helm, HelmCredentials } from './helm';
export { FetchCounts } from './sources';

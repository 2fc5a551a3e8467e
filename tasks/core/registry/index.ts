export { parseImageReference, formatImageReference, registryEndpoint, isLoopbackRegistry, manifestReference, DOCKER_HUB, type ImageReference } from './reference';
export { type RegistryCredentials, parseChallenge } from './auth';
export { RegistryClient, type RegistryClientOptions, type ManifestData, type ManifestHead } from './client';
export { copyImage, resolvePromotion, type CopyOptions, type CopyResult, type Resolution } from './copy';
export { MEDIA_TYPES, parseManifest, platformText, type Descriptor, type PlatformSpec } from './manifest';

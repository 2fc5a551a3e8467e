export * from './auth';
export * from './commitMessage';
export * from './git';
export * from './pushFailure';
export { pushWithRetry, type AppliedEdit, type PushWithRetryOptions, type PushWithRetryResult } from './retry';
export * from './workspace';

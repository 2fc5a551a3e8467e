/** Why a push (or other remote git operation) failed, judged from git's stderr. */
export type PushFailure = 'stale' | 'auth' | 'rejected' | 'network' | 'unknown';

const authPatterns = [
  /\b401\b/,
  /\b403\b/,
  /TF401027/, // Azure Repos: missing GenericContribute permission
  /TF401019/, // Azure Repos: repository does not exist or no permission
  /Authentication failed/i,
  /could not read (Username|Password)/i,
  /terminal prompts disabled/i,
  /permission denied/i,
];

// Someone else moved the branch between our fetch and our push: fetch, re-apply, retry.
const stalePatterns = [
  /non-fast-forward/,
  /fetch first/,
  /cannot lock ref/,
  /incorrect old value provided/,
  /failed to update ref/,
  /StaleOldObjectId/,
  /stale info/,
];

// The server looked at our change and refused it: retrying the same change cannot help.
const rejectedPatterns = [/hook declined/, /remote rejected/, /TF402455/, /\[rejected\]/];

const networkPatterns = [
  /Could not resolve host/i,
  /Failed to connect/i,
  /Connection refused/i,
  /Connection reset/i,
  /Connection timed out/i,
  /Operation timed out/i,
  /Empty reply from server/i,
  /RPC failed/i,
  /remote end hung up/i,
  /early EOF/i,
  /unable to access/i,
  /\b50[234]\b/,
];

export function classifyPushFailure(stderr: string): PushFailure {
  if (authPatterns.some((p) => p.test(stderr))) return 'auth';
  if (stalePatterns.some((p) => p.test(stderr))) return 'stale';
  if (rejectedPatterns.some((p) => p.test(stderr))) return 'rejected';
  if (networkPatterns.some((p) => p.test(stderr))) return 'network';
  return 'unknown';
}

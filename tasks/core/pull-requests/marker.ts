import { GitopsError } from '../errors';

/** The hidden HTML comment that identifies our own PR comment. */
export function markerTag(marker: string): string {
  if (!/^[A-Za-z0-9._:/-]+$/.test(marker)) {
    throw new GitopsError(`Comment marker "${marker}" may only contain letters, digits and . _ : / -`, { field: 'marker' });
  }
  return `<!-- ${marker} -->`;
}

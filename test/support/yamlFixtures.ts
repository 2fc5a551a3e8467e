/** YAML texts the bounded parser is tested and benchmarked with. */

/**
 * An alias bomb ("billion laughs"): 9 strings, then `levels - 1` lists of 9 aliases to the list
 * before, so a few hundred bytes expand to 9^levels strings.
 */
export function aliasBomb(levels = 8): string {
  const names = 'abcdefghijklmnop'.slice(0, levels).split('');
  return names.map((name, i) => (i === 0
    ? `${name}: &${name} [${Array(9).fill('"lol"').join(',')}]`
    : `${name}: &${name} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]`)).join('\n');
}

/** A flat map of about `bytes` bytes under `subcomponents.<subcomponent>.config`. */
export function flatConfig(bytes: number, subcomponent = 'web'): string {
  const lines = ['subcomponents:', `  ${subcomponent}:`, '    config:'];
  let size = 40;
  for (let i = 0; size < bytes; i++) {
    const line = `      key${i}: value-${i}-abcdefghijklmnopqrstuvwxyz`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

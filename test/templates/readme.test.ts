import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/tools';
import { loadYamlFile, parameterDeclarations } from './support/expand';

const templatesDir = join(repoRoot, 'pipelines-templates');

/** Rows of the README table under `### \`file\``: name → [type, default]. */
function readmeRows(readme: string, file: string): Map<string, [string, string]> {
  const section = readme.split(`### \`${file}\``)[1]?.split('\n### ')[0] ?? '';
  const rows = new Map<string, [string, string]>();
  for (const m of section.matchAll(/^\| `([^`]+)` \| ([^|]+) \| (.+?) \| .* \|$/gm)) rows.set(m[1], [m[2].trim(), m[3].trim()]);
  return rows;
}

describe('pipeline templates README', () => {
  const readme = readFileSync(join(templatesDir, 'README.md'), 'utf8');
  for (const file of readdirSync(templatesDir).filter((f) => f.endsWith('.yml'))) {
    it(`lists every parameter of ${file} with its type and default, and nothing else`, () => {
      const declared = parameterDeclarations(loadYamlFile(join(templatesDir, file)), file);
      const rows = readmeRows(readme, file);
      assert.deepEqual([...rows.keys()], declared.map((p) => p.name));
      for (const p of declared) {
        const [type, shown] = rows.get(p.name)!;
        assert.equal(type, p.type, `${file} ${p.name} type`);
        if (p.default === undefined) assert.equal(shown, '*(required)*', `${file} ${p.name} is required`);
        else if (typeof p.default === 'string') assert.equal(shown, `\`${p.default === '' ? "''" : p.default}\``, `${file} ${p.name} default`);
        else assert.notEqual(shown, '*(required)*', `${file} ${p.name} has a default`);
      }
    });
  }
});

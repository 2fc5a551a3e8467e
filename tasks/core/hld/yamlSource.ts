import { parseYamlDocument, type ParsedYaml } from '../yaml/parse';
import { FABRIKATE_JSON_OPTIONS, FABRIKATE_YAML_OPTIONS } from './fabrikateYaml';

/** A parsed YAML/JSON file that can tell the 1-based line of any source offset. */
export type SourceDocument = ParsedYaml;

/**
 * Parses an HLD file (YAML, and JSON as encoding/json read it) keeping source ranges, with
 * Fabrikate's scalar rules (fabrikateYaml.ts), bounded (size, aliases, cycles: see yaml/parse.ts),
 * and turns the first problem into a GitopsError naming the file and line. As go-yaml v2 did, a key
 * given twice keeps the last value, and empty documents after the first (a trailing `---`) are
 * accepted; further documents with content are refused.
 */
export function parseSource(text: string, file: string): SourceDocument {
  const options = file.toLowerCase().endsWith('.json') ? FABRIKATE_JSON_OPTIONS : FABRIKATE_YAML_OPTIONS;
  return parseYamlDocument(text, file, options, undefined, { duplicateKeys: 'allow', extraDocuments: 'ignoreEmpty' });
}

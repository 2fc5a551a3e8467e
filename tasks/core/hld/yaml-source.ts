import { parseYamlDocument, type ParsedYaml } from '../yaml/parse';

/** A parsed YAML/JSON file that can tell the 1-based line of any source offset. */
export type SourceDocument = ParsedYaml;

/**
 * Parses YAML (JSON is YAML) keeping source ranges, bounded (size, aliases, cycles, duplicate
 * keys: see yaml/parse.ts), and turns the first problem into a GitopsError naming the file and line.
 */
export function parseSource(text: string, file: string): SourceDocument {
  return parseYamlDocument(text, file);
}

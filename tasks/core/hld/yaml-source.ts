import { isScalar, LineCounter, parseAllDocuments, parseDocument, Document, YAMLError } from 'yaml';
import { GitopsError } from '../errors';
import { FABRIKATE_JSON_OPTIONS, FABRIKATE_YAML_OPTIONS } from './fabrikate-yaml';

/** A parsed YAML/JSON file that can tell the 1-based line of any source offset. */
export interface SourceDocument {
  document: Document.Parsed;
  lineOf(offset: number | undefined): number | undefined;
}

/**
 * Parses YAML (JSON is YAML) keeping source ranges, with Fabrikate's scalar rules
 * (fabrikate-yaml.ts; JSON files as encoding/json read them), and turns the first syntax error into a GitopsError that names the file
 * and line. Empty documents after the first (a trailing `---`) are accepted, as go-yaml read
 * only the first document; further documents with content are refused.
 */
export function parseSource(text: string, file: string): SourceDocument {
  const lineCounter = new LineCounter();
  const kind = file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML';
  const options = { keepSourceTokens: true, lineCounter, prettyErrors: false, ...(kind === 'JSON' ? FABRIKATE_JSON_OPTIONS : FABRIKATE_YAML_OPTIONS) };
  let document: Document.Parsed = parseDocument(text, options);
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (document.errors.some((error) => error.code === 'MULTIPLE_DOCS')) {
    const all = parseAllDocuments(text, { ...options, lineCounter: new LineCounter() });
    const documents = Array.isArray(all) ? all : [];
    const extra = documents.slice(1).find((doc) => doc.errors.length > 0 || hasContent(doc));
    if (extra || documents.length === 0) {
      throw new GitopsError(`holds ${documents.length} YAML documents; a config or component file must be one document`, {
        file,
        line: lineOf(extra?.range[0]),
        hint: 'deliberate difference from Fabrikate, which silently read only the first document: merge the documents into one, or delete the extra ones (a trailing "---" alone is fine)',
      });
    }
    document = documents[0] as unknown as Document.Parsed;
  }
  const problem: YAMLError | undefined = document.errors[0];
  if (problem) {
    throw new GitopsError(`malformed ${kind}: ${problem.message.split('\n')[0]}`, {
      file,
      line: lineOf(problem.pos[0]),
      hint: `fix the ${kind} syntax`,
    });
  }
  return { document, lineOf };
}

function hasContent(document: Document): boolean {
  const contents = document.contents;
  return contents !== null && !(isScalar(contents) && contents.value === null);
}

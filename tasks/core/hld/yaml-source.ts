import { LineCounter, parseDocument, Document, YAMLError } from 'yaml';
import { GitopsError } from '../errors';

/** A parsed YAML/JSON file that can tell the 1-based line of any source offset. */
export interface SourceDocument {
  document: Document.Parsed;
  lineOf(offset: number | undefined): number | undefined;
}

/**
 * Parses YAML (JSON is YAML) keeping source ranges, and turns the first syntax error into a
 * GitopsError that names the file and line.
 */
export function parseSource(text: string, file: string): SourceDocument {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { keepSourceTokens: true, lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  const problem: YAMLError | undefined = document.errors[0];
  if (problem) {
    const kind = file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML';
    throw new GitopsError(`malformed ${kind}: ${problem.message.split('\n')[0]}`, {
      file,
      line: lineOf(problem.pos[0]),
      hint: `fix the ${kind} syntax`,
    });
  }
  return { document, lineOf };
}

import { dump } from 'js-yaml';
import { isYamlSyntaxError, loadYamlDocuments } from '../yaml/parse';

/** What a Secret value is replaced with in diffs and summaries. */
export const redactedValue = '(redacted)';
/** The same, for a key whose value differs from the manifest repository's. */
export const redactedChangedValue = '(redacted, changed)';
const unreadableSecret = '# (a document that names kind Secret but does not parse: not shown)';

type SecretValues = Map<string, string>;

/**
 * The texts of one file as diffs may show them: every Kubernetes `Secret` (also inside a `List`)
 * has its `data` and `stringData` values replaced, so a diff tells which keys were added, changed
 * or removed and never shows a value, old or new. Files without the word Secret are returned as they are.
 */
export function redactSecretsForDiff(path: string, oldText: string | undefined, newText: string | undefined): { oldText?: string; newText?: string } {
  const mentions = (text: string | undefined) => text !== undefined && /\bSecret\b/.test(text);
  if (!/\.(ya?ml|json)$/i.test(path) || (!mentions(oldText) && !mentions(newText))) return { oldText, newText };
  const oldValues: SecretValues = new Map();
  const redactedOld = oldText === undefined ? undefined : redactText(oldText, path, oldValues, undefined);
  const redactedNew = newText === undefined ? undefined : redactText(newText, path, new Map(), oldValues);
  return { oldText: redactedOld, newText: redactedNew };
}

/** Splits at document markers the way the renderer writes them. */
function documentsOf(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split(/^---[ \t]*(?:#.*)?$/m);
}

function redactText(text: string, path: string, seen: SecretValues, before: SecretValues | undefined): string {
  if (!/\bSecret\b/.test(text)) return text;
  return documentsOf(text).map((document, index) => {
    if (!/\bSecret\b/.test(document)) return document;
    let values: unknown[];
    try {
      values = loadYamlDocuments(document, path);
    } catch (error) {
      if (isYamlSyntaxError(error)) return `\n${unreadableSecret}\n`;
      throw error;
    }
    if (values.length !== 1 || !containsSecret(values[0])) return document;
    const redacted = redactValue(values[0], seen, before);
    return `${index === 0 ? '' : '\n'}${dump(redacted, { lineWidth: -1, noRefs: true })}`;
  }).join('---');
}

function containsSecret(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const object = value as { kind?: unknown; items?: unknown };
  if (object.kind === 'Secret') return true;
  return Array.isArray(object.items) && object.items.some(containsSecret);
}

function redactValue(value: unknown, seen: SecretValues, before: SecretValues | undefined): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const object = value as Record<string, unknown> & { kind?: unknown; items?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (object.kind !== 'Secret') {
    return Array.isArray(object.items) ? { ...object, items: object.items.map((item) => redactValue(item, seen, before)) } : object;
  }
  const id = `${String(object.metadata?.namespace ?? '')}/${String(object.metadata?.name ?? '')}`;
  const copy: Record<string, unknown> = { ...object };
  for (const field of ['data', 'stringData']) {
    const entries = object[field];
    if (entries === undefined || entries === null) continue;
    if (typeof entries !== 'object' || Array.isArray(entries)) {
      copy[field] = redactedValue;
      continue;
    }
    copy[field] = Object.fromEntries(Object.entries(entries as Record<string, unknown>).map(([key, secret]) => {
      const slot = `${id}\u0000${field}\u0000${key}`;
      const text = JSON.stringify(secret) ?? '';
      seen.set(slot, text);
      const changed = before !== undefined && before.has(slot) && before.get(slot) !== text;
      return [key, changed ? redactedChangedValue : redactedValue];
    }));
  }
  return copy;
}

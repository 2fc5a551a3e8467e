import { dump } from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { assertYamlSize } from '../yaml/parse';

/** What a Secret value is replaced with in diffs and summaries. */
export const redactedValue = '(redacted)';
/** The same, for a key of a Secret whose values differ from the manifest repository's. */
export const redactedChangedValue = '(redacted, changed)';
const unreadableSecret = '# (a file that may hold a Secret but does not parse: not shown)\n';

/** Per Secret (`namespace/name`): how often it occurs in a text, and all its values at once. */
type SecretValues = Map<string, { count: number; values: string }>;

/**
 * A Secret's `kind` may be written with escapes (`"Sec\u0072et"`), so whether a document is a
 * Secret is decided on its parsed value; only texts with neither the word nor a backslash skip parsing.
 */
const maySpellSecret = /Secret|\\/;

/**
 * The texts of one file as diffs may show them: every Kubernetes `Secret` (also inside a `List`)
 * has its `data` and `stringData` values replaced, so a diff tells which keys were added or removed
 * and never shows a value, old or new.
 *
 * Whether values changed is said per Secret, never per key: when a Secret occurs once in each
 * text and any of its values differ, each of its keys present on both sides shows
 * `(redacted, changed)`. So a diff tells no more than the resource list (which says the Secret
 * changed): it cannot confirm one key's value on its own, and copies of a Secret in one file (the
 * way to test many guesses in one dry run) get no comparison at all.
 *
 * Documents are split, merge keys (`<<`) followed and escapes read by the YAML parser, as
 * Kubernetes reads them; a file that may hold a Secret but does not parse is not shown.
 */
export function redactSecretsForDiff(path: string, oldText: string | undefined, newText: string | undefined): { oldText?: string; newText?: string } {
  const mentions = (text: string | undefined) => text !== undefined && maySpellSecret.test(text);
  if (!/\.(ya?ml|json)$/i.test(path) || (!mentions(oldText) && !mentions(newText))) return { oldText, newText };
  const oldDocs = oldText === undefined ? undefined : documentsOf(oldText, path);
  const newDocs = newText === undefined ? undefined : documentsOf(newText, path);
  const oldValues = secretValues(oldDocs);
  const newValues = secretValues(newDocs);
  const changed = new Set<string>();
  for (const [id, after] of newValues) {
    const before = oldValues.get(id);
    if (before && before.count === 1 && after.count === 1 && before.values !== after.values) changed.add(id);
  }
  return {
    oldText: oldText === undefined ? undefined : redactText(oldText, oldDocs!, new Set(), undefined),
    newText: newText === undefined ? undefined : redactText(newText, newDocs!, changed, oldDocs),
  };
}

interface DocumentText {
  text: string;
  /** The parsed value; undefined when the text is not a Secret candidate. */
  value?: unknown;
  /** The slice starts with a `---` marker. */
  marker: boolean;
}

/** The documents of a text as the YAML parser splits them, or null when it does not parse. */
function documentsOf(text: string, path: string): DocumentText[] | null {
  if (!maySpellSecret.test(text)) return [{ text, marker: false }];
  assertYamlSize(text, path);
  try {
    const documents = parseAllDocuments(text, { merge: true, prettyErrors: false });
    if (!Array.isArray(documents)) return [{ text, marker: false }]; // no document at all (comments only)
    if (documents.some((document) => document.errors.length > 0)) return null;
    const starts = documents.map((document, index) => (index === 0 ? 0 : document.range[0]));
    return documents.map((document, index) => {
      const slice = text.slice(starts[index], starts[index + 1] ?? text.length);
      return { text: slice, marker: /^---/.test(text.slice(document.range[0])), value: document.toJS({ maxAliasCount: 1000 }) };
    });
  } catch {
    return null; // too deep, too many aliases, or a parser crash: not shown either
  }
}

function secretValues(documents: DocumentText[] | null | undefined): SecretValues {
  const values: SecretValues = new Map();
  for (const document of documents ?? []) {
    for (const secret of secretsIn(document.value)) {
      const id = secretId(secret);
      const entry = values.get(id);
      const text = JSON.stringify(['data', 'stringData'].map((field) => sortedEntries(secret[field])));
      values.set(id, { count: (entry?.count ?? 0) + 1, values: text });
    }
  }
  return values;
}

function sortedEntries(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value ?? null;
  return Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type SecretObject = Record<string, unknown> & { metadata?: { name?: unknown; namespace?: unknown } };

function isSecret(value: unknown): value is SecretObject {
  return !!value && typeof value === 'object' && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'Secret';
}

function secretsIn(value: unknown): SecretObject[] {
  if (isSecret(value)) return [value];
  const items = value && typeof value === 'object' && !Array.isArray(value) ? (value as { items?: unknown }).items : undefined;
  return Array.isArray(items) ? items.flatMap(secretsIn) : [];
}

function secretId(secret: SecretObject): string {
  return `${String(secret.metadata?.namespace ?? '')}/${String(secret.metadata?.name ?? '')}`;
}

function redactText(text: string, documents: DocumentText[] | null, changed: ReadonlySet<string>, before: DocumentText[] | null | undefined): string {
  if (documents === null) return unreadableSecret;
  const keysBefore = new Map<string, Set<string>>();
  for (const document of before ?? []) {
    for (const secret of secretsIn(document.value)) {
      const keys = keysBefore.get(secretId(secret)) ?? new Set<string>();
      for (const field of ['data', 'stringData']) {
        const entries = secret[field];
        if (entries && typeof entries === 'object' && !Array.isArray(entries)) for (const key of Object.keys(entries)) keys.add(`${field}\u0000${key}`);
      }
      keysBefore.set(secretId(secret), keys);
    }
  }
  if (!documents.some((document) => secretsIn(document.value).length > 0)) return text;
  return documents.map((document) => {
    if (secretsIn(document.value).length === 0) return document.text;
    const redacted = redactValue(document.value, changed, keysBefore);
    return `${document.marker ? '---\n' : ''}${dump(redacted, { lineWidth: -1, noRefs: true })}`;
  }).join('');
}

function redactValue(value: unknown, changed: ReadonlySet<string>, keysBefore: Map<string, Set<string>>): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  if (!isSecret(value)) {
    const items = (value as { items?: unknown }).items;
    return Array.isArray(items) ? { ...value, items: items.map((item) => redactValue(item, changed, keysBefore)) } : value;
  }
  const object = value;
  const id = secretId(object);
  const copy: Record<string, unknown> = { ...object };
  // `kubectl apply` keeps the whole Secret, values included, in this annotation.
  const annotations = (object.metadata as { annotations?: unknown } | undefined)?.annotations;
  if (annotations && typeof annotations === 'object' && !Array.isArray(annotations) && Object.hasOwn(annotations, LAST_APPLIED)) {
    copy.metadata = { ...object.metadata, annotations: { ...annotations, [LAST_APPLIED]: redactedValue } };
  }
  for (const field of ['data', 'stringData']) {
    const entries = object[field];
    if (entries === undefined || entries === null) continue;
    if (typeof entries !== 'object' || Array.isArray(entries)) {
      copy[field] = redactedValue;
      continue;
    }
    copy[field] = Object.fromEntries(Object.keys(entries).map((key) => {
      const marked = changed.has(id) && keysBefore.get(id)?.has(`${field}\u0000${key}`) === true;
      return [key, marked ? redactedChangedValue : redactedValue];
    }));
  }
  return copy;
}

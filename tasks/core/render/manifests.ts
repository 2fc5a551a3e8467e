import { parseDocument } from 'yaml';
import { isYamlSyntaxError, loadYamlDocuments } from '../yaml/parse';

/**
 * Built-in kinds that live outside namespaces: injectNamespace must leave them alone (Fabrikate
 * added a namespace to these too, which kubectl rejects or ignores).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'APIService',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'ComponentStatus',
  'CSIDriver',
  'CSINode',
  'CustomResourceDefinition',
  'FlowSchema',
  'IngressClass',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Node',
  'PersistentVolume',
  'PodSecurityPolicy',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'RuntimeClass',
  'SelfSubjectAccessReview',
  'SelfSubjectRulesReview',
  'StorageClass',
  'StorageVersionMigration',
  'SubjectAccessReview',
  'TokenReview',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
  'VolumeAttributesClass',
]);

/** Splits a multi-document YAML stream at `---` lines; the separators are dropped. */
export function splitDocuments(stream: string): string[] {
  return stream.replace(/\r\n/g, '\n').split(/^---[ \t]*(?:#.*)?$/m);
}

/** True when a document holds nothing but comments and blank lines. */
function isEmptyDocument(document: string): boolean {
  return document.split('\n').every((line) => line.trim() === '' || line.trimStart().startsWith('#'));
}

/**
 * helm template's stdout as one stream of `---\n<document>\n` entries: empty documents (templates
 * that rendered to nothing) are dropped, `# Source:` comments kept, blank edges trimmed.
 */
export function normalizeHelmOutput(stdout: string): string {
  return splitDocuments(stdout)
    .filter((document) => !isEmptyDocument(document))
    .map((document) => `---\n${document.replace(/^\s*\n/, '').trimEnd()}\n`)
    .join('');
}

/** Fabrikate's static join, byte for byte: each file as `---\n<content>\n`, in the given order. */
export function joinStaticFiles(contents: readonly string[]): string {
  return contents.map((content) => `---\n${content}\n`).join('');
}

/**
 * Adds `metadata.namespace: <namespace>` to every namespaced document that has a metadata map
 * but no namespace. The edit inserts one line, so everything else stays byte-identical;
 * documents that do not parse (or are not objects) pass through untouched.
 */
export function injectNamespace(stream: string, namespace: string, source = 'helm output'): string {
  return splitDocuments(stream)
    .map((document, index) => (index === 0 && document === '' ? document : addNamespace(document, namespace, source)))
    .join('---');
}

function addNamespace(document: string, namespace: string, source: string): string {
  let parsed: unknown;
  try {
    const documents = loadYamlDocuments(document, source);
    if (documents.length !== 1) return document;
    parsed = documents[0];
  } catch (error) {
    // Unparsable documents pass through; refused ones (alias bombs, cycles, size) stop the render.
    if (isYamlSyntaxError(error)) return document;
    throw error;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return document;
  const resource = parsed as { kind?: unknown; metadata?: unknown };
  if (typeof resource.kind !== 'string' || CLUSTER_SCOPED_KINDS.has(resource.kind)) return document;
  if (!resource.metadata || typeof resource.metadata !== 'object' || Array.isArray(resource.metadata)) return document;
  const metadata = resource.metadata as Record<string, unknown>;
  if (metadata.namespace !== undefined && metadata.namespace !== null && metadata.namespace !== '') return document;

  const lines = document.split('\n');
  const metadataLine = lines.findIndex((line) => /^metadata:[ \t]*(#.*)?$/.test(line));
  if (metadataLine >= 0 && !('namespace' in metadata)) {
    const child = lines.slice(metadataLine + 1).find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
    const indent = child ? /^[ \t]*/.exec(child)![0] : '  ';
    if (indent.length > 0) {
      lines.splice(metadataLine + 1, 0, `${indent}namespace: ${yamlScalar(namespace)}`);
      return lines.join('\n');
    }
  }
  // Flow-style metadata or an empty `namespace:` key: let the yaml library edit that document.
  const doc = parseDocument(document, { uniqueKeys: false });
  doc.setIn(['metadata', 'namespace'], namespace);
  const leading = /^\n*/.exec(document)![0];
  return `${leading}${doc.toString()}`.replace(/\n$/, document.endsWith('\n') ? '\n' : '');
}

/** A namespace as a YAML scalar: plain when it cannot be read as anything but a string. */
function yamlScalar(value: string): string {
  const plain = /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value) && !/^(y|yes|n|no|true|false|on|off|null)$/.test(value);
  return plain ? value : JSON.stringify(value);
}

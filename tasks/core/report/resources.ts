import { isYamlSyntaxError, loadYamlDocuments } from '../yaml/parse';

/** One Kubernetes object found in a manifest file. */
export interface ResourceIdentity {
  kind: string;
  /** Undefined for cluster-scoped kinds and for namespaced objects that leave it to the apply context. */
  namespace?: string;
  name: string;
  clusterScoped: boolean;
}

export interface ParsedResource extends ResourceIdentity {
  /** `kind/namespace/name`; cluster-scoped: `kind/name`. */
  id: string;
  /** Canonical JSON of the whole object, to tell "changed" from "same". */
  fingerprint: string;
}

/** Built-in kinds that have no namespace; CRDs of other cluster-scoped kinds are treated as namespaced. */
const clusterScopedKinds = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment',
  'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'APIService', 'PriorityClass',
  'RuntimeClass', 'IngressClass', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'CertificateSigningRequest',
  'FlowSchema', 'PriorityLevelConfiguration', 'ClusterIssuer',
]);

export const noNamespaceLabel = '(no namespace)';

export function resourceId(identity: Omit<ResourceIdentity, 'clusterScoped'> & { clusterScoped?: boolean }): string {
  if (identity.clusterScoped) return `${identity.kind}/${identity.name}`;
  return `${identity.kind}/${identity.namespace ?? noNamespaceLabel}/${identity.name}`;
}

/**
 * The Kubernetes objects in a (multi-document) YAML or JSON file, or undefined when the file is
 * not YAML, does not parse, or holds something other than objects with kind and metadata.name:
 * such files are compared as opaque text. A file the bounded parser refuses (alias bomb, cycle,
 * size) throws a GitopsError naming `path` (or `label` when given).
 */
export function parseResources(path: string, content: string, label = path): ParsedResource[] | undefined {
  if (!/\.(ya?ml|json)$/i.test(path)) return undefined;
  let documents: unknown[];
  try {
    documents = loadYamlDocuments(content, label);
  } catch (error) {
    if (isYamlSyntaxError(error)) return undefined;
    throw error;
  }
  const resources: ParsedResource[] = [];
  for (const document of documents) {
    if (document === null || document === undefined) continue;
    const identity = identify(document);
    if (!identity) return undefined;
    for (const item of identity) resources.push(item);
  }
  return resources;
}

function identify(document: unknown): ParsedResource[] | undefined {
  if (typeof document !== 'object' || Array.isArray(document)) return undefined;
  const object = document as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; items?: unknown };
  // A `List` wraps objects: identify its items instead.
  if (object.kind === 'List' && Array.isArray(object.items)) {
    const items = object.items.map(identify);
    return items.every(Boolean) ? items.flatMap((i) => i!) : undefined;
  }
  if (typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') return undefined;
  const clusterScoped = clusterScopedKinds.has(object.kind);
  const namespace = !clusterScoped && typeof object.metadata.namespace === 'string' && object.metadata.namespace ? object.metadata.namespace : undefined;
  const identity = { kind: object.kind, namespace, name: object.metadata.name, clusterScoped };
  return [{ ...identity, id: resourceId(identity), fingerprint: canonicalJson(document) }];
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner && typeof inner === 'object' && !Array.isArray(inner) && !(inner instanceof Date)) {
      return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return inner;
  });
}

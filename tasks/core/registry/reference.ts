import { isLoopbackHost } from '../net';
import { GitopsError } from '../errors';

/** A parsed image reference: `[registry[:port]/]repository[:tag][@digest]`. */
export interface ImageReference {
  /** Registry as users write it, e.g. `docker.io`, `myacr.azurecr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** A digest read from a server or computed here, checked to be `sha256:<64 hex>` or `sha512:<128 hex>`: never a tag, never a path. */
export type Digest = string & { readonly __digest: true };

export const isDigest = (text: unknown): text is Digest => typeof text === 'string' && DIGEST.test(text);

/** Tags as the distribution spec allows them (never a digest, a path or `..`). */
export const isTag = (text: unknown): boolean => typeof text === 'string' && TAG.test(text);

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PORT = /^\d{1,5}$/;

const isPort = (port: string | undefined) => port === undefined || (PORT.test(port) && Number(port) >= 1 && Number(port) <= 65535);

/** `host[:port]` (or `[ipv6][:port]`) with a port from 1 to 65535. */
export function isValidRegistry(registry: string): boolean {
  const ipv6 = /^\[[0-9a-fA-F:.]+\](?::(\d{1,5}))?$/.exec(registry);
  if (ipv6) return isPort(ipv6[1]);
  const [host, port, ...extra] = registry.split(':');
  if (extra.length > 0 || !isPort(port)) return false;
  return host.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/** A tag as the distribution grammar allows it. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Docker's rule: the first path component is a registry when it looks like a host. */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

function invalid(text: string, why: string): GitopsError {
  return new GitopsError(`invalid image reference "${text}": ${why}`, {
    hint: 'write it as [registry[:port]/]repository[:tag][@sha256:<64 hex>], e.g. myacr.azurecr.io/team/app:1.2.3',
  });
}

/**
 * Parses an image reference the way docker and the distribution reference grammar do:
 * no registry → Docker Hub (`docker.io`), and a one-component Hub name gets `library/`.
 */
export function parseImageReference(text: string): ImageReference {
  const input = text.trim();
  if (!input) throw invalid(text, 'it is empty');
  if (/\s/.test(input)) throw invalid(text, 'it contains whitespace');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) throw invalid(text, 'leave out the URL scheme');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(text, `"${digest}" is not a digest (sha256:<64 lowercase hex>)`);
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(text, `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }

  const components = rest.split('/');
  let registry = DOCKER_HUB;
  if (components.length > 1 && looksLikeRegistry(components[0])) {
    registry = components.shift()!;
    if (!isValidRegistry(registry)) throw invalid(text, `"${registry}" is not a valid registry host[:port] (port 1-65535)`);
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && components.length === 1) components.unshift('library');

  for (const component of components) {
    if (!component) throw invalid(text, 'the repository has an empty path component');
    if (!PATH_COMPONENT.test(component)) {
      const why = /[A-Z]/.test(component) ? 'repository names must be lowercase' : 'repository path components may contain only a-z, 0-9 and separators . _ __ -';
      throw invalid(text, `"${component}": ${why}`);
    }
  }
  const repository = components.join('/');
  if (registry.length + 1 + repository.length > 255) throw invalid(text, 'the name is longer than 255 characters');
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host[:port] to talk to: Docker Hub's API lives on registry-1.docker.io. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** Loopback registries may use plain HTTP without being marked insecure. */
export const isLoopbackRegistry = (registry: string): boolean => isLoopbackHost(registry);

/** The manifest reference to fetch: the digest when pinned, else the tag (default `latest`). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { formatImageReference, isLoopbackRegistry, parseImageReference, registryEndpoint, type ImageReference } from '../../../tasks/core/registry/reference';

const D = `sha256:${'a'.repeat(64)}`;

const valid: [string, ImageReference][] = [
  ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
  ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
  ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
  ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
  ['index.docker.io/library/nginx:latest', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
  ['registry-1.docker.io/bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis' }],
  ['myacr.azurecr.io/team/app:1.2.3', { registry: 'myacr.azurecr.io', repository: 'team/app', tag: '1.2.3' }],
  ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev' }],
  ['localhost/app', { registry: 'localhost', repository: 'app' }],
  ['127.0.0.1:41234/a/b/c:v1', { registry: '127.0.0.1:41234', repository: 'a/b/c', tag: 'v1' }],
  [`ghcr.io/org/app@${D}`, { registry: 'ghcr.io', repository: 'org/app', digest: D }],
  [`ghcr.io/org/app:v2@${D}`, { registry: 'ghcr.io', repository: 'org/app', tag: 'v2', digest: D }],
  [`nginx@${D}`, { registry: 'docker.io', repository: 'library/nginx', digest: D }],
  ['[::1]:5000/app:v1', { registry: '[::1]:5000', repository: 'app', tag: 'v1' }],
  ['my-registry.example.com:443/a_b/c__d/e-f.g:Tag_1.0-rc', { registry: 'my-registry.example.com:443', repository: 'a_b/c__d/e-f.g', tag: 'Tag_1.0-rc' }],
  ['  quay.io/prometheus/node-exporter:v1.8.0  ', { registry: 'quay.io', repository: 'prometheus/node-exporter', tag: 'v1.8.0' }],
];

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['   ', /empty/],
  ['Nginx', /lowercase/],
  ['myacr.azurecr.io/Team/app', /lowercase/],
  ['nginx:', /not a valid tag/],
  ['nginx:-bad', /not a valid tag/],
  [`nginx:${'x'.repeat(129)}`, /not a valid tag/],
  ['nginx@sha256:abc', /not a digest/],
  [`nginx@md5:${'a'.repeat(32)}`, /not a digest/],
  ['myacr.azurecr.io//app', /empty path component/],
  ['myacr.azurecr.io/app/', /empty path component/],
  ['https://myacr.azurecr.io/app', /URL scheme/],
  ['my acr/app', /whitespace/],
  ['myacr.azurecr.io:port/app', /registry host/],
  ['myacr.azurecr.io/app..x', /path components/],
  ['myacr.azurecr.io/-app', /path components/],
];

describe('image references', () => {
  for (const [text, expected] of valid) {
    it(`parses "${text.trim()}"`, () => {
      assert.deepEqual(parseImageReference(text), expected);
    });
  }

  for (const [text, why] of invalid) {
    it(`rejects "${text.length > 40 ? text.slice(0, 40) + '…' : text}" with a reason and an example`, () => {
      assert.throws(() => parseImageReference(text), (error: unknown) => {
        assert.ok(error instanceof GitopsError);
        assert.match(error.message, why);
        assert.match(error.hint ?? '', /registry\[:port\]\/\]repository/);
        return true;
      });
    });
  }

  it('formats back to the full form', () => {
    assert.equal(formatImageReference(parseImageReference('nginx:1.25')), 'docker.io/library/nginx:1.25');
    assert.equal(formatImageReference(parseImageReference(`127.0.0.1:5000/a/b:v1@${D}`)), `127.0.0.1:5000/a/b:v1@${D}`);
  });

  it('reaches Docker Hub at registry-1.docker.io and other registries at their own host', () => {
    assert.equal(registryEndpoint('docker.io'), 'registry-1.docker.io');
    assert.equal(registryEndpoint('myacr.azurecr.io'), 'myacr.azurecr.io');
  });

  it('treats only loopback registries as plain-HTTP by default', () => {
    for (const host of ['127.0.0.1:5000', '127.9.8.7', 'localhost:5000', '[::1]:5000']) assert.ok(isLoopbackRegistry(host), host);
    for (const host of ['myacr.azurecr.io', '10.0.0.1:5000', '127.0.0.1.example.com', 'localhost.example.com']) assert.ok(!isLoopbackRegistry(host), host);
  });
});

import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffTrees, renderSummaryMarkdown } from '../../../tasks/core/report';
import { redactSecretsForDiff } from '../../../tasks/core/report/secrets';
import { tempDir } from '../../support/tmp';

const secret = (values: Record<string, string>, extra = '') => [
  '---', 'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: db', '  namespace: web', 'type: Opaque', 'data:',
  ...Object.entries(values).map(([k, v]) => `  ${k}: ${Buffer.from(v).toString('base64')}`),
  'stringData:', '  plain: hunter2-plain', extra, '',
].join('\n');

describe('report: Secret values never reach the diff', () => {
  it('shows keys added, changed and removed, and no value old or new', () => {
    const root = tempDir('secret-diff-');
    mkdirSync(join(root, 'prod'));
    writeFileSync(join(root, 'prod', 'db.yaml'), secret({ user: 'old-user-s3cr3t', password: 'old-pass-s3cr3t', gone: 'gone-s3cr3t' }));
    const diff = diffTrees(root, [{ path: 'prod/db.yaml', content: secret({ user: 'old-user-s3cr3t', password: 'new-pass-s3cr3t', token: 'new-token-s3cr3t' }) }], ['prod']);
    const summary = renderSummaryMarkdown({ diff, dryRun: true });
    for (const value of ['old-user-s3cr3t', 'old-pass-s3cr3t', 'gone-s3cr3t', 'new-pass-s3cr3t', 'new-token-s3cr3t', 'hunter2-plain']) {
      assert.ok(!summary.includes(value) && !summary.includes(Buffer.from(value).toString('base64')), `${value} leaked:\n${summary}`);
    }
    assert.match(summary, /-\s+password: \(redacted\)\n[\s\S]*\+\s+password: \(redacted, changed\)/);
    assert.match(summary, /\+\s+token: \(redacted\)/);
    assert.match(summary, /-\s+gone: \(redacted\)/);
    assert.match(summary, /\| changed \| Secret \| web \| db/);
    // Changed values are said per Secret, not per key (no equality oracle for one key): the
    // unchanged user shows as changed too, as every key present on both sides.
    assert.match(summary, /\+\s+user: \(redacted, changed\)/);
  });

  it('says nothing about values when a Secret has copies in a file (many guesses in one dry run), or when nothing changed', () => {
    const root = tempDir('secret-oracle-');
    mkdirSync(join(root, 'prod'));
    writeFileSync(join(root, 'prod', 'db.yaml'), secret({ password: 'production-s3cr3t' }));
    const guesses = ['guess-1', 'production-s3cr3t', 'guess-3'].map((guess) => secret({ password: guess })).join('');
    const copies = renderSummaryMarkdown({ diff: diffTrees(root, [{ path: 'prod/db.yaml', content: guesses }], ['prod']), dryRun: true });
    assert.doesNotMatch(copies, /redacted, changed/, copies);
    assert.doesNotMatch(copies, /production-s3cr3t|guess-1/);
    const same = redactSecretsForDiff('prod/db.yaml', secret({ password: 'production-s3cr3t' }), `${secret({ password: 'production-s3cr3t' })}---\nkind: ConfigMap\nmetadata: {name: c}\n`);
    assert.doesNotMatch(same.newText!, /changed/);
    assert.match(same.newText!, /password: \(redacted\)\nstringData:\n  plain: \(redacted\)\n---\nkind: ConfigMap/);
  });

  it('hides Secrets inside a List and Secret documents that do not parse', () => {
    const list = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  data: {k: TElTVC1TRUNSRVQ=}\n';
    const broken = '---\nkind: Secret\ndata:\n  k: "BROKEN-SECRET\n';
    const diff = diffTrees(undefined, [{ path: 'prod/list.yaml', content: list }, { path: 'prod/broken.yaml', content: broken }], ['prod']);
    const summary = renderSummaryMarkdown({ diff });
    assert.doesNotMatch(summary, /TElTVC1TRUNSRVQ=|BROKEN-SECRET/);
    assert.match(summary, /k: \(redacted\)/);
  });

  it('hides the values kubectl keeps in the last-applied-configuration annotation', () => {
    const applied = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', data: { password: Buffer.from('applied-s3cr3t').toString('base64') } });
    const text = ['apiVersion: v1', 'kind: Secret', 'metadata:', '  name: db', '  annotations:', `    kubectl.kubernetes.io/last-applied-configuration: '${applied}'`, '    team: web', 'data:', '  password: eA==', ''].join('\n');
    const { newText } = redactSecretsForDiff('prod/db.yaml', undefined, text);
    assert.ok(!newText!.includes('applied-s3cr3t') && !newText!.includes(Buffer.from('applied-s3cr3t').toString('base64')), newText);
    assert.match(newText!, /last-applied-configuration: \(redacted\)/);
    assert.match(newText!, /team: web/);
  });

  it('leaves other kinds as they are', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: visible-value}\n';
    const summary = renderSummaryMarkdown({ diff: diffTrees(undefined, [{ path: 'prod/cm.yaml', content: cm }], ['prod']) });
    assert.match(summary, /visible-value/);
  });
});

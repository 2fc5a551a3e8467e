/** The extension's manifest and task.json files as the tests read them, plus the issues' contracts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/tools';

export interface TaskInput {
  name: string;
  label: string;
  type: string;
  defaultValue?: string | boolean;
  required?: boolean;
  groupName?: string;
  visibleRule?: string;
  helpMarkDown?: string;
  options?: Record<string, string>;
}

export interface TaskJson {
  id: string;
  name: string;
  friendlyName: string;
  instanceNameFormat: string;
  minimumAgentVersion: string;
  version: { Major: number; Minor: number; Patch: number };
  groups: { name: string; displayName: string; isExpanded?: boolean; visibleRule?: string }[];
  inputs: TaskInput[];
  outputVariables: { name: string; description?: string }[];
  execution: Record<string, { target: string }>;
  [key: string]: unknown;
}

export const taskNames = ['GenerateManifests', 'UpdateImageTag', 'PromoteContainer'] as const;
export type TaskName = (typeof taskNames)[number];

export const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
export const taskJson = (task: TaskName): TaskJson => readJson<TaskJson>(join(repoRoot, 'tasks', task, 'task.json'));
export const extensionManifest = () =>
  readJson<{ id: string; version: string; publisher: string; icons: { default: string }; contributions: { type: string; targets: string[]; properties: { name: string } }[] }>(
    join(repoRoot, 'vss-extension.json'),
  );

const prInputs = ['pushMode', 'pullRequestTargetBranch', 'autoComplete'];
const hldEdit = ['hldRepositoryUrl', 'hldBranch', 'hldPath', 'componentPath', 'environment', 'subcomponent', 'tagKey', 'repositoryKey', 'commitMessage', 'gitConnection'];

/** Input and output names the issues (#3, #4, #5) fix as contracts, with the defaults they state. */
export const contracts: Record<TaskName, { inputs: string[]; outputs: string[]; defaults: Record<string, string> }> = {
  GenerateManifests: {
    inputs: ['hldPath', 'hldRepositoryUrl', 'hldBranch', 'environments', 'manifestRepositoryUrl', 'manifestBranch', 'manifestPath',
      'outputPath', 'gitConnection', ...prInputs, 'commitMessage', 'dryRun', 'allowEmptyOutput', 'helmPath', 'helmVersion',
      'cacheDirectory', 'gitUserName', 'gitUserEmail', 'allowEnvironmentsWithoutConfig'],
    outputs: ['manifestCommitId', 'manifestsChanged', 'renderedPath', 'pullRequestId', 'pullRequestUrl'],
    defaults: { hldPath: '$(System.DefaultWorkingDirectory)', environments: 'prod', manifestBranch: 'main', hldBranch: 'main', pushMode: 'direct',
      dryRun: 'false', allowEmptyOutput: 'false', allowEnvironmentsWithoutConfig: 'false' },
  },
  UpdateImageTag: {
    inputs: [...hldEdit, 'imageTag', 'imageRepository', 'additionalValues', 'noNewKeys', 'gitUserName', 'gitUserEmail', ...prInputs,
      'pullRequestTitle', 'mergeStrategy', 'deleteSourceBranch', 'reviewers', 'maxPushAttempts', 'images', 'tagPolicy', 'createEnvironment', 'createSubcomponent'],
    outputs: ['hldCommitId', 'hldChanged', 'pullRequestId', 'pullRequestUrl'],
    defaults: { hldBranch: 'main', environment: 'common', tagKey: 'image.tag', repositoryKey: 'image.repository', pushMode: 'direct',
      maxPushAttempts: '10', mergeStrategy: 'squash', tagPolicy: 'auto', createEnvironment: 'false', createSubcomponent: 'false' },
  },
  PromoteContainer: {
    inputs: ['sourceImage', 'sourceRegistryConnection', 'targetRegistry', 'targetRepository', 'targetTag', 'targetRegistryConnection',
      'platforms', 'copyReferrers', 'verification', 'verifyManifestRepositoryUrl', 'verifyManifestBranch', 'verifyEnvironmentPath',
      'verifySyncTag', ...hldEdit, 'pinDigest', ...prInputs, 'dryRun', 'overwriteTag', 'targetAzureSubscription', 'sourceImages', 'tagPolicy',
      'createEnvironment', 'createSubcomponent'],
    outputs: ['promotedImage', 'promotedDigest', 'hldCommitId', 'hldChanged', 'pullRequestId', 'pullRequestUrl', 'bytesCopied'],
    defaults: { platforms: 'all', copyReferrers: 'true', verification: 'manifestRepo', hldBranch: 'main', tagKey: 'image.tag',
      repositoryKey: 'image.repository', pushMode: 'direct', overwriteTag: 'false', dryRun: 'false', tagPolicy: 'auto', createEnvironment: 'false',
      createSubcomponent: 'false' },
  },
};

/** Width and height from a PNG's IHDR chunk, or undefined when the bytes are not a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature) || bytes.toString('ascii', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Each `name op value` clause of a visibleRule (`&&` / `||` separated). */
export function visibleRuleClauses(rule: string): { input: string; operator: string; value: string }[] {
  return rule.split(/&&|\|\|/).map((clause) => {
    const match = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(!=|=|<=|>=|<|>|NotContains|NotStartsWith|NotEndsWith|Contains|StartsWith|EndsWith)\s*(.*?)\s*$/.exec(clause);
    if (!match) throw new Error(`visibleRule clause ${JSON.stringify(clause)} is not "input operator value"`);
    return { input: match[1], operator: match[2], value: match[3].replace(/^"(.*)"$/, '$1') };
  });
}

import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { GitopsError } from '../errors';
import { runProcess } from '../exec';
import type { Logger } from '../logger';

export interface InstallHelmOptions {
  /** `3.18.0` or `v3.18.0`. */
  version: string;
  /** The agent tool cache (Agent.ToolsDirectory); helm lands in `helm/<version>/<arch>/`, as tool-lib lays it out. */
  toolsDirectory: string;
  /** Download root; default the official `https://get.helm.sh`. */
  downloadUrl?: string;
  logger: Logger;
}

const architectures: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** The path of helm `version`, downloaded from get.helm.sh into the tool cache unless already there. */
export async function installHelm(options: InstallHelmOptions): Promise<string> {
  const version = options.version.trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new GitopsError(`helm version "${options.version}" is not a version like 3.18.0`, { field: 'helmVersion' });
  }
  const os = platform() === 'win32' ? 'windows' : platform();
  const cpu = architectures[arch()];
  if (!cpu || (os !== 'linux' && os !== 'darwin')) {
    throw new GitopsError(`installing helm is not supported on ${platform()}/${arch()}`, { field: 'helmVersion', hint: 'install helm on the agent and set helmPath' });
  }
  const folder = join(options.toolsDirectory, 'helm', version, arch());
  const binary = join(folder, 'helm');
  if (existsSync(`${folder}.complete`) && existsSync(binary)) {
    options.logger.debug(`helm ${version} from the tool cache: ${binary}`);
    return binary;
  }
  const url = `${(options.downloadUrl ?? 'https://get.helm.sh').replace(/\/+$/, '')}/helm-v${version}-${os}-${cpu}.tar.gz`;
  options.logger.info(`Downloading helm ${version} from ${url}`);
  const response = await fetch(url).catch((error: Error) => {
    throw new GitopsError(`could not download helm ${version}: ${error.message}`, { field: 'helmVersion', hint: 'check the network, or set helmPath' });
  });
  if (!response.ok) {
    throw new GitopsError(`could not download helm ${version}: HTTP ${response.status} from ${url}`, { field: 'helmVersion', hint: 'check that the version exists' });
  }
  await mkdir(options.toolsDirectory, { recursive: true });
  const scratch = await mkdtemp(join(options.toolsDirectory, 'helm-download-'));
  try {
    const archive = join(scratch, 'helm.tar.gz');
    await writeFile(archive, Buffer.from(await response.arrayBuffer()));
    const untar = await runProcess('tar', ['-xzf', archive, '-C', scratch]);
    if (untar.code !== 0) throw new GitopsError(`could not unpack ${url}: ${untar.stderr.trim()}`, { field: 'helmVersion' });
    await mkdir(folder, { recursive: true });
    await copyFile(join(scratch, `${os}-${cpu}`, 'helm'), binary);
    await chmod(binary, 0o755);
    await writeFile(`${folder}.complete`, '');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return binary;
}

/** The agent's proxy and certificate settings (Agent.ProxyUrl, Agent.CAInfo, ...) as core's NetworkSettings. */
import * as tl from 'azure-pipelines-task-lib/task';
import { networkSecrets, validateNetworkSettings, type NetworkSettings } from '../core/network';
import { quietly, type TaskContext } from './runTask';

export function agentNetworkSettings(ctx: TaskContext): NetworkSettings {
  const { proxy, certs } = quietly(() => ({ proxy: tl.getHttpProxyConfiguration(), certs: tl.getHttpCertConfiguration() }));
  const settings: NetworkSettings = {
    proxy: proxy ? {
      url: proxy.proxyUrl,
      username: proxy.proxyUsername || undefined,
      password: proxy.proxyPassword || undefined,
      bypass: proxy.proxyBypassHosts ?? [],
    } : undefined,
    caFile: certs?.caFile || undefined,
    clientCertificate: certs?.certFile ? { certFile: certs.certFile, keyFile: certs.keyFile || undefined, passphrase: certs.passphrase || undefined } : undefined,
  };
  for (const secret of networkSecrets(settings)) ctx.secret(secret);
  if (settings.clientCertificate?.passphrase) ctx.secret(settings.clientCertificate.passphrase);
  validateNetworkSettings(settings, { proxy: 'Agent.ProxyUrl', caFile: 'Agent.CAInfo', bypass: 'Agent.ProxyBypassList' });
  return settings;
}

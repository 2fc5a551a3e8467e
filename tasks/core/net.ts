/**
 * 127.0.0.0/8, localhost and ::1, with or without a port or IPv6 brackets (`[::1]:5000`).
 * Nothing sent there crosses the network: plain HTTP and credentials are acceptable.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Whether secrets may travel to `url`: https, or plain http to this machine. */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.host));
}

import { BlockList, isIP } from 'node:net';

/** 127.0.0.0/8 and ::1; BlockList also matches their IPv4-mapped IPv6 forms (`::ffff:127.0.0.1`, `::ffff:7f00:1`). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * 127.0.0.0/8, localhost and ::1 (also written as IPv4-mapped IPv6, `[::ffff:127.0.0.1]`), with or
 * without a port or IPv6 brackets (`[::1]:5000`).
 * Nothing sent there crosses the network: plain HTTP and credentials are acceptable.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  if (name === 'localhost') return true;
  const family = isIP(name);
  return family !== 0 && LOOPBACK.check(name, family === 6 ? 'ipv6' : 'ipv4');
}

/** Whether secrets may travel to `url`: https, or plain http to this machine. */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.host));
}

/**
 * Why `url` may name one host to WHATWG URL (Node, which our checks use) and another to git, curl
 * or Go (which connect), or undefined when they agree. WHATWG reads `\` as `/` in http(s) URLs,
 * drops tabs and newlines, and takes the user info up to the last `@` of the authority; curl and
 * git's credential code read `\` as an ordinary character and split at the first `@`. Such a URL
 * is refused rather than guessed: no real repository or registry needs one.
 */
export function urlAmbiguity(url: string): string | undefined {
  if (url.includes('\\')) return 'a backslash';
  if (/[\x00-\x1f\x7f]/.test(url)) return 'a control character';
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url.trim())?.[1] ?? '';
  if (authority.indexOf('@') !== authority.lastIndexOf('@')) return 'more than one @ before the host';
  return undefined;
}

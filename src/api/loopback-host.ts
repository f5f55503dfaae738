/**
 * The Host check of an API that listens on loopback only (the local runtime). A loopback port is
 * not private to this machine's programs: any web page the user opens can make the browser send
 * requests to it by pointing a DNS name of its own at 127.0.0.1 (DNS rebinding), and the browser
 * then sends that name as Host. Answering only requests addressed to a loopback name shuts that
 * door without asking anything of real clients, which address the API as 127.0.0.1 or localhost.
 */

/** Host names (without the port) that address this machine's loopback interface. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a Host header value names a loopback address (with any port, or none). */
export function isLoopbackHost(host: string | undefined): boolean {
  // A name, or a bracketed IPv6 address, then at most a port.
  const match = /^(\[[^\]]*\]|[^:[\]]+)(?::\d+)?$/.exec(host ?? '');
  return match !== null && LOOPBACK_HOSTS.has(match[1]!.toLowerCase());
}

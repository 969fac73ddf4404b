/**
 * The Host-header check of `serve` (DNS rebinding): a page on evil.example whose name is re-pointed at
 * this machine sends `Host: evil.example`, so only names that really mean this machine are served.
 * Bound to a loopback address that is the loopback names; bound to anything else (0.0.0.0, a LAN address)
 * also this machine's own name and the addresses of its interfaces. Names given with `--allow-host` (a
 * reverse proxy's or a tunnel's) are accepted in both cases.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { AppError } from '../core/errors';

/** `[::1]` → `::1`, `Box.LAN.` → `box.lan`: the form names are compared in. */
function normalize(name: string): string {
  return name
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

export function isLoopback(host: string): boolean {
  const h = normalize(host);
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The name part of a Host header (`name`, `name:port`, `[v6]:port`); '' when it is none of these. */
export function hostName(hostHeader: string): string {
  const m = /^(\[[^\]]+\]|[^:\[\]]+)(?::\d+)?$/.exec(hostHeader.trim());
  return m ? m[1]! : '';
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/i;

/**
 * Checks one `--allow-host` value and returns it normalized: a DNS name or an IP address, without port or
 * wildcard (the name a browser puts in Host). Throws an `input` error naming the value otherwise.
 */
export function parseAllowedHost(value: string): string {
  const name = normalize(value);
  if (name && (isIP(name) !== 0 || DNS_NAME.test(name))) return name;
  throw new AppError('input', `--allow-host: '${value}' is not a host name or address (give it without port or scheme, e.g. --allow-host box.lan)`);
}

/** Every name of this machine: loopback names, its host name, the addresses of its interfaces. */
function machineNames(): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  const own = normalize(hostname());
  if (own) names.add(own);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) names.add(normalize(a.address));
  }
  return names;
}

/**
 * `accepts(hostHeader)` for a server bound to `bindHost`. The machine's names are read once and read
 * again on a miss, so an address the machine gets later (DHCP, a VPN coming up) is accepted too.
 */
export function hostCheck(bindHost: string, allowHosts: readonly string[] = []): { accepts(hostHeader: string | undefined): boolean } {
  const allowed = new Set(allowHosts.map(parseAllowedHost));
  const loopbackOnly = isLoopback(bindHost);
  // A wildcard bind is no name: `Host: 0.0.0.0` is what a foreign page sends to reach every interface.
  const bound = ['0.0.0.0', '::'].includes(normalize(bindHost)) ? '' : normalize(bindHost);
  let own: Set<string> | undefined;
  const isOwn = (name: string) => {
    own ??= machineNames();
    if (own.has(name)) return true;
    own = machineNames();
    return own.has(name);
  };
  return {
    accepts(hostHeader) {
      const name = normalize(hostName(hostHeader ?? ''));
      if (!name) return false;
      if (isLoopback(name) || allowed.has(name)) return true;
      return !loopbackOnly && (name === bound || isOwn(name));
    },
  };
}

import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { formatHostPort, hostPortKey, parseHostPort } from './address';

/**
 * Where a cluster's nodes may live: the only addresses redis-medic connects to (and so sends
 * the cluster's credentials to) for that cluster. What a node lists in `CLUSTER NODES` is data:
 * an address outside the scope is reported, never asked (see docs/configuration.md).
 */
export interface AddressScope {
  /** In words, for findings and refusals: `10.0.0.31 (default: the seeds' own hosts)`. */
  readonly description: string;
  /**
   * The allowedNetworks entries in force (the configured ones, or the default's), so that a
   * finding can print the exact line to add to the configuration.
   */
  readonly entries?: readonly string[];
  allows(addr: string): boolean;
  /** True for an address that nothing may allow (the queue Redis). */
  never?(addr: string): boolean;
}

export interface ScopeSource {
  seeds: string[];
  spareNodes?: string[];
  /** CIDRs, addresses and host names, each optionally with `:port` or `:from-to`. Unset: the default. */
  allowedNetworks?: string[] | undefined;
  /**
   * `host:port` addresses that are never a node of this cluster, whatever else allows them: the
   * queue Redis (set from queue.redisUrl by the config loader), so that its address is never
   * contacted nor sent the cluster's credentials.
   */
  neverContact?: string[] | undefined;
}

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

interface NetworkRule {
  text: string;
  where: { kind: 'network'; range: [Ip, number] } | { kind: 'host'; name: string } | { kind: 'suffix'; suffix: string };
  ports?: [number, number];
}

// RFC 1123 labels; a leading `*.` (rules only) means "any name below".
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * One `allowedNetworks` entry: `10.0.0.0/24`, `10.0.0.7`, `fd00::/64`, `redis-a.internal`,
 * `*.redis.svc.cluster.local`, any of them with `:6379` or `:7000-7005` (IPv6 in brackets then:
 * `[fd00::/64]:6379`). Throws an Error whose message says what is wrong.
 */
export function parseNetworkEntry(text: string): NetworkRule {
  const entry = text.trim();
  const fail = (why: string): never => {
    throw new Error(`"${text}" ${why}`);
  };
  if (entry === '') fail('is empty');
  let where = entry;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    where = bracketed[1]!;
    portText = bracketed[2];
  } else if (!isIpOrCidr(entry) && entry.includes(':')) {
    const colon = entry.lastIndexOf(':');
    where = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
  }
  const rule: NetworkRule = { text: entry, where: whereOf(where, fail) };
  if (portText !== undefined) {
    const ports = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(portText);
    const from = Number(ports?.[1]);
    const to = ports?.[2] === undefined ? from : Number(ports[2]);
    if (!ports || from < 1 || to > 65535 || to < from) fail('has a bad port: use :6379 or :7000-7005 (1-65535)');
    rule.ports = [from, to];
  }
  return rule;
}

function whereOf(text: string, fail: (why: string) => never): NetworkRule['where'] {
  if (text.includes('/')) {
    const [address = '', bits] = text.split('/');
    if (!net.isIP(address) || !/^\d{1,3}$/.test(bits ?? '') || !ipaddr.isValidCIDR(text))
      fail('is not a CIDR such as 10.0.0.0/24 or fd00::/64');
    const [ip, prefix] = ipaddr.parseCIDR(text);
    return { kind: 'network', range: canonicalRange(ip, prefix) };
  }
  if (net.isIP(text)) {
    const ip = parseIp(text);
    return { kind: 'network', range: [ip, ip.kind() === 'ipv4' ? 32 : 128] };
  }
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.startsWith('*.') && HOSTNAME.test(name.slice(2))) return { kind: 'suffix', suffix: name.slice(1) };
  if (HOSTNAME.test(name)) return { kind: 'host', name };
  return fail('is not a CIDR (10.0.0.0/24), an IP address or a host name (redis-0.internal, *.redis.internal)');
}

/** `::ffff:10.0.0.0/104` is an IPv4 network: match it as one. */
function canonicalRange(ip: Ip, prefix: number): [Ip, number] {
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96)
    return [(ip as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  return [ip, prefix];
}

function isIpOrCidr(text: string): boolean {
  const [address = '', bits, ...rest] = text.split('/');
  return net.isIP(address) !== 0 && rest.length === 0 && (bits === undefined || /^\d{1,3}$/.test(bits));
}

// Strict forms only (net.isIP): `127.1`, `0x7f.0.0.1` or `2130706433` are not IP literals here,
// because ipaddr.js and the OS resolver read such forms differently. They count as host names,
// and no rule can name them, so they are never allowed. A strict dotted quad is built from its
// four decimal octets directly: this runs for every line of every CLUSTER NODES reply, and
// ipaddr.js's general parser (which tries every IPv4 notation) costs ~25 µs a call there.
function parseIp(host: string): Ip {
  const family = net.isIP(host);
  if (family === 4) return new ipaddr.IPv4(host.split('.').map(Number));
  const ip = ipaddr.IPv6.parse(host);
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/**
 * The scope of one configured cluster: its seeds and spares (always, exactly), plus its
 * `allowedNetworks`, or when that is unset, the default of {@link defaultAllowedNetworks};
 * minus `neverContact` (the queue Redis), which nothing allows.
 */
export function clusterScope(source: ScopeSource): AddressScope {
  const exact = [...source.seeds, ...(source.spareNodes ?? [])];
  const explicit = source.allowedNetworks !== undefined;
  const entries = explicit ? source.allowedNetworks! : defaultAllowedNetworks(exact);
  // Explicit entries were checked by the config schema (a bad one throws here, loudly); a
  // default derived from an odd seed name that is no host name is skipped: the seed itself stays allowed.
  const rules = explicit
    ? entries.map((e) => parseNetworkEntry(e))
    : entries.flatMap((e) => {
        try {
          return [parseNetworkEntry(e)];
        } catch {
          return [];
        }
      });
  const keysOf = (addrs: string[]): Set<string> => {
    const keys = new Set<string>();
    for (const addr of addrs) {
      try {
        const { host, port } = parseHostPort(addr);
        for (const h of aliases(host)) keys.add(hostPortKey({ host: h, port }));
      } catch {
        // A malformed seed is refused by the config schema; here it simply allows nothing.
      }
    }
    return keys;
  };
  const exactKeys = keysOf(exact);
  const never = keysOf(source.neverContact ?? []);
  const listed = rules.map((r) => r.text).join(', ');
  const description = explicit
    ? `the seeds and spare nodes${listed ? ` plus allowedNetworks ${listed}` : ' only (allowedNetworks is empty)'}`
    : `${listed || 'the seeds only'} (the default: the seeds' and spares' own hosts; set allowedNetworks to change it)`;
  const neverText = never.size ? `, never the queue Redis (${[...(source.neverContact ?? [])].join(', ')})` : '';
  return {
    description: `${description}${neverText}`,
    entries: rules.map((r) => r.text),
    never(addr: string): boolean {
      if (never.size === 0) return false;
      try {
        const { host, port } = parseHostPort(addr);
        return aliases(host).some((h) => never.has(hostPortKey({ host: h, port })));
      } catch {
        return false;
      }
    },
    allows(addr: string): boolean {
      let host: string;
      let port: number;
      try {
        ({ host, port } = parseHostPort(addr));
      } catch {
        return false;
      }
      const hosts = aliases(host);
      if (never.size > 0 && hosts.some((h) => never.has(hostPortKey({ host: h, port })))) return false;
      if (exactKeys.has(hostPortKey({ host, port }))) return true;
      return rules.some((rule) => hosts.some((h) => ruleAllows(rule, h, port)));
    },
  };
}

/** The forms one host goes by: `localhost` is this machine whatever /etc/hosts says first (127.0.0.1 or ::1). */
function aliases(host: string): string[] {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare.toLowerCase() === 'localhost' ? [bare, '127.0.0.1', '::1'] : [bare];
}

/**
 * Whether a node's cluster bus endpoint may be handed to a node (CLUSTER MEET's bus port): on
 * the node's own host, either Redis's own convention (data port + 10000) for an allowed data
 * address, or a port the scope allows in its own right. A node announcing a bus port that
 * points at some other service (the queue Redis, a port outside the allowed ranges) is not
 * met there.
 */
export function busPortAllowed(scope: AddressScope, addr: string, busPort: number | undefined): boolean {
  if (!scope.allows(addr)) return false;
  if (busPort === undefined) return true;
  if (!Number.isInteger(busPort) || busPort < 1 || busPort > 65535) return false;
  let parsed: { host: string; port: number };
  try {
    parsed = parseHostPort(addr);
  } catch {
    return false;
  }
  const bus = formatHostPort({ host: parsed.host.replace(/^\[|\]$/g, ''), port: busPort });
  if (busPort === parsed.port + 10000) return true;
  return scope.allows(bus);
}

function ruleAllows(rule: NetworkRule, host: string, port: number): boolean {
  if (rule.ports && (port < rule.ports[0] || port > rule.ports[1])) return false;
  const { where } = rule;
  if (net.isIP(host)) {
    if (where.kind !== 'network') return false;
    const ip = parseIp(host);
    return ip.kind() === where.range[0].kind() && ip.match(where.range);
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) return false;
  if (where.kind === 'host') return name === where.name;
  if (where.kind === 'suffix') return name.endsWith(where.suffix);
  return false;
}

/**
 * The default when an operator names only seeds: the seeds' and spares' own hosts, any port.
 * - an IP seed allows that IP (10.0.0.31 → `10.0.0.31`), loopback included (127.0.0.1);
 * - `localhost` allows 127.0.0.1 and ::1;
 * - a host name allows that name only.
 * Not their networks: a /24 around a seed holds other teams' Redis, and every address there
 * would be sent the cluster password as soon as a node lists it. A cluster whose nodes live on
 * other hosts than its seeds is reported (NODE_OUT_OF_SCOPE) with the exact allowedNetworks
 * line that would let redis-medic ask them. The queue Redis is never in any scope (neverContact).
 */
export function defaultAllowedNetworks(addrs: string[]): string[] {
  const out = new Set<string>();
  for (const addr of addrs) {
    let host: string;
    try {
      host = parseHostPort(addr).host.replace(/^\[|\]$/g, '');
    } catch {
      continue;
    }
    if (net.isIP(host)) out.add(parseIp(host).toString());
    else if (host.toLowerCase() === 'localhost') {
      out.add('127.0.0.1');
      out.add('::1');
    } else {
      out.add(host.toLowerCase());
    }
  }
  return [...out];
}

/**
 * The allowedNetworks line that would let redis-medic ask `outside` too: the entries in force
 * plus each address exactly (host:port, IPv6 in brackets), as YAML flow sequence.
 */
export function allowedNetworksLine(entries: readonly string[], outside: readonly string[]): string {
  const items = [...new Set([...entries, ...outside.map(scopeEntryOf)])];
  return `allowedNetworks: [${items.map(jsonString).join(', ')}]`;
}

/** A plain host:port (no brackets, no blanks, one colon, a port without leading zeros): scopeEntryOf gives it back as it is. */
const PLAIN_HOST_PORT = /^[^\s:[\]]+:[1-9]\d{0,4}$/;

/** Characters JSON.stringify escapes in a string (quote, backslash, controls, surrogates). */
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string, without calling it for the common text that needs no escape. */
function jsonString(text: string): string {
  return JSON_ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function scopeEntryOf(addr: string): string {
  // The common case without parsing (thousands of listed addresses outside the scope).
  if (PLAIN_HOST_PORT.test(addr) && Number(addr.slice(addr.lastIndexOf(':') + 1)) <= 65535) return addr;
  try {
    const { host, port } = parseHostPort(addr);
    const bare = host.replace(/^\[|\]$/g, '');
    return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
  } catch {
    return addr;
  }
}

import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { addrKey, hostPortKey, parseHostPort } from './address';

/**
 * Where a cluster's nodes may live: the only addresses redis-medic connects to (and so sends
 * the cluster's credentials to) for that cluster. What a node lists in `CLUSTER NODES` is data:
 * an address outside the scope is reported, never asked (see docs/configuration.md).
 */
export interface AddressScope {
  /** In words, for findings and refusals: `10.0.0.0/24 (default: the seeds' networks)`. */
  readonly description: string;
  allows(addr: string): boolean;
}

export interface ScopeSource {
  seeds: string[];
  spareNodes?: string[];
  /** CIDRs, addresses and host names, each optionally with `:port` or `:from-to`. Unset: the default. */
  allowedNetworks?: string[] | undefined;
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
 * `allowedNetworks`, or when that is unset, the default of {@link defaultAllowedNetworks}.
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
  const exactKeys = new Set<string>();
  for (const addr of exact) {
    try {
      exactKeys.add(addrKey(addr));
    } catch {
      // A malformed seed is refused by the config schema; here it simply allows nothing.
    }
  }
  const listed = rules.map((r) => r.text).join(', ');
  const description = explicit
    ? `the seeds and spare nodes${listed ? ` plus allowedNetworks ${listed}` : ' only (allowedNetworks is empty)'}`
    : `${listed || 'the seeds only'} (the default: the seeds' own networks; set allowedNetworks to change it)`;
  return {
    description,
    allows(addr: string): boolean {
      let host: string;
      let port: number;
      try {
        ({ host, port } = parseHostPort(addr));
      } catch {
        return false;
      }
      if (exactKeys.has(hostPortKey({ host, port }))) return true;
      const bare = host.replace(/^\[|\]$/g, '');
      // `localhost` is this machine whatever /etc/hosts says first: 127.0.0.1 or ::1.
      const hosts = bare.toLowerCase() === 'localhost' ? [bare, '127.0.0.1', '::1'] : [bare];
      return rules.some((rule) => hosts.some((h) => ruleAllows(rule, h, port)));
    },
  };
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
 * What an operator expects when they name only seeds: the cluster lives where its seeds live.
 * - an IPv4 seed allows its /24 (10.0.0.31 → 10.0.0.0/24), an IPv6 seed its /64;
 * - a loopback seed allows that loopback address only (127.0.0.1, ::1): a dev or test cluster
 *   on one machine, whose other loopback addresses are other services, not nodes of it;
 * - `localhost` allows 127.0.0.1 and ::1;
 * - a host name allows that name only: the nodes announce IPs nobody can guess from a name
 *   (Kubernetes pods), so such a cluster needs allowedNetworks, and the report says so.
 * Any port. Never "anywhere".
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
    if (net.isIP(host)) {
      const ip = parseIp(host);
      if (ip.range() === 'loopback') out.add(ip.toString());
      else if (ip.kind() === 'ipv4') out.add(`${ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/24`).toString()}/24`);
      else out.add(`${ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/64`).toString()}/64`);
    } else if (host.toLowerCase() === 'localhost') {
      out.add('127.0.0.1');
      out.add('::1');
    } else {
      out.add(host.toLowerCase());
    }
  }
  return [...out];
}

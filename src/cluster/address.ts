import { ErrorCode, RedisMedicError } from '../errors';

export interface HostPort {
  host: string;
  port: number;
}

/** Parse `host:port` (IPv6 as `[::1]:7000` or `::1:7000`). Throws a clear error otherwise. */
export function parseHostPort(text: string): HostPort {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  const colon = trimmed.lastIndexOf(':');
  const host = bracketed ? bracketed[1]! : trimmed.slice(0, colon);
  const portText = bracketed ? bracketed[2]! : trimmed.slice(colon + 1);
  const port = Number(portText);
  if ((!bracketed && colon <= 0) || !/^\d+$/.test(portText) || port < 1 || port > 65535 || host === '') {
    throw new RedisMedicError(ErrorCode.AddressNotAllowed, `"${text}" is not a host:port address (e.g. 10.0.0.31:6379)`);
  }
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Normalise an address for comparisons: `localhost` and `[::1]` forms collapse. */
export function addrKey(addr: string): string {
  return hostPortKey(parseHostPort(addr));
}

/** addrKey of an address already parsed. */
export function hostPortKey({ host, port }: HostPort): string {
  const h = host === 'localhost' ? '127.0.0.1' : host.toLowerCase();
  return `${h}:${port}`;
}

/** addrKey for comparisons that must not throw: a malformed address compares as itself. */
export function comparableAddr(addr: string): string {
  try {
    return addrKey(addr);
  } catch {
    return addr;
  }
}

import { comparableAddr } from '../cluster/address';
import { isNodeId } from '../cluster/parse-nodes';
import { busPortAllowed, type AddressScope } from '../cluster/scope';
import { isSlot } from '../cluster/slots';
import type { FixPlan, PlanStep } from './types';

export interface PlanScope {
  /**
   * Where the cluster may live, from the configuration (seeds, spares, allowedNetworks): the
   * hard boundary. What the diagnosis discovered never widens it.
   */
  allowed: AddressScope;
  /** host:port of every node of the diagnosed cluster, plus the configured spares. */
  nodes: string[];
  /** Ids of every node the diagnosis knows (FORGET, REPLICATE and SETSLOT name only those). */
  ids: string[];
}

// Commands that destroy data or take a node down, named so the refusal says what it saw.
const FORBIDDEN = new Set([
  'FLUSHALL',
  'FLUSHDB',
  'SHUTDOWN',
  'DEBUG',
  'DEL',
  'UNLINK',
  'SWAPDB',
  'MIGRATE',
  'RESTORE',
  'EVAL',
  'EVALSHA',
  'FUNCTION',
  'MODULE',
  'SCRIPT',
  'ACL',
  'REPLICAOF',
  'SLAVEOF',
]);

/**
 * Belt and braces before anything runs: every step must be one of the few command shapes the
 * planners produce, on a node inside the configured scope that is also a node of this cluster
 * or a configured spare; a MEET may only introduce such a node. An allow-list, so a plan from a
 * buggy or tampered source cannot smuggle anything else in. Returns the problems found.
 */
export function validatePlan(plan: FixPlan, scope: PlanScope): string[] {
  const problems: string[] = [];
  const nodes = new Set(scope.nodes.map(comparableAddr));
  const ids = new Set(scope.ids);
  // The configured scope first: it names the problem an operator must act on.
  const nodeProblem = (addr: string): string | null => {
    if (!scope.allowed.allows(addr)) return `${addr} is outside the addresses allowed for this cluster (${scope.allowed.description})`;
    if (!nodes.has(comparableAddr(addr))) return `${addr} is not a node of this cluster nor a configured spare`;
    return null;
  };
  for (const [i, step] of plan.steps.entries()) {
    const where = `step ${i + 1} (${step.node}> ${step.command.join(' ')})`;
    const target = nodeProblem(step.node);
    if (target) problems.push(`${where}: ${target}`);
    const why =
      step.moveKeys || step.command[0]?.toUpperCase() === 'MIGRATE'
        ? keyMoveProblem(step, ids, nodeProblem)
        : commandProblem(step.command, ids, nodeProblem, scope.allowed);
    if (why) problems.push(`${where}: ${why}`);
    const waited = step.waitFor ? nodeProblem(step.waitFor.node) : null;
    if (waited) problems.push(`${where}: waits on ${waited}`);
  }
  for (const check of plan.checks ?? []) {
    const checked = nodeProblem(check.node);
    if (checked) problems.push(`check on ${checked}`);
  }
  return problems;
}

/**
 * MIGRATE deletes keys on the node it runs on once the receiver has them, so it is forbidden in
 * every other shape: only as the key move of an open slot (close-open-slots.ts), exactly
 * `MIGRATE <host> <port> "" 0 <timeout> [REPLACE] KEYS` on a node of this cluster, towards another
 * node of this cluster, with the slot, the receiver's id and the batch size declared in
 * `moveKeys`. The plan carries no key names and no password: the executor appends the keys it
 * reads with CLUSTER GETKEYSINSLOT for that slot on that node, and the AUTH from the config.
 */
function keyMoveProblem(step: PlanStep, ids: Set<string>, nodeProblem: (addr: string) => string | null): string | null {
  const move = step.moveKeys;
  if (!move) return 'MIGRATE is never allowed except as the key move of an open slot';
  const [name = '', host = '', port = '', key, db, timeout, ...rest] = step.command.map(String);
  if (name.toUpperCase() !== 'MIGRATE') return 'a key move must be a MIGRATE';
  if (!isSlot(move.slot)) return 'a key move needs a slot 0-16383';
  if (!isNodeId(move.to) || !ids.has(move.to)) return 'a key move needs the id of a node of this cluster to receive the keys';
  if (!Number.isInteger(move.batch) || move.batch < 1 || move.batch > 1000) return 'a key move batch is 1-1000 keys';
  if (key !== '' || db !== '0')
    return 'a key move is MIGRATE host port "" 0 <timeout> [REPLACE] KEYS (database 0, keys appended at run time)';
  if (!/^\d+$/.test(timeout ?? '') || Number(timeout) < 1 || Number(timeout) > 60_000) return 'a key move timeout is 1-60000 ms';
  const tail = rest.map((r) => r.toUpperCase()).join(' ');
  if (tail !== 'KEYS' && tail !== 'REPLACE KEYS') return 'a key move ends with [REPLACE] KEYS: no key, AUTH or other option in the plan';
  if (!/^\d+$/.test(port) || !host) return 'a key move needs the receiving host and port';
  const to = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const receiver = nodeProblem(to);
  if (receiver) return `MIGRATE to ${receiver}`;
  if (comparableAddr(to) === comparableAddr(step.node)) return 'a key move goes to another node';
  return null;
}

/**
 * A MEET hands the node a bus port to connect to: only Redis's convention (data port + 10000)
 * or a port the scope allows on that host. A node announcing a bus port elsewhere (the queue
 * Redis, another service) is not met there.
 */
function busProblem(scope: AddressScope, addr: string, bus: string | undefined): string | null {
  if (bus === undefined) return null;
  return busPortAllowed(scope, addr, Number(bus))
    ? null
    : `MEET bus port ${bus} of ${addr} is outside the addresses allowed for this cluster (${scope.description}): only its port + 10000 or an allowed port`;
}

/** The MEET steps of a plan whose bus port the scope does not allow (the planner drops such plans). */
export function meetBusProblems(plan: FixPlan, scope: AddressScope): string[] {
  const out: string[] = [];
  for (const step of plan.steps) {
    const addr = meetTarget(step.command);
    if (!addr) continue;
    const problem = busProblem(scope, addr, step.command.map(String)[4]);
    if (problem) out.push(problem);
  }
  return out;
}

/** Every address a plan would connect to or introduce (steps, waits, checks, MEET targets). */
export function planAddresses(plan: FixPlan): string[] {
  const out: string[] = [];
  for (const step of plan.steps) {
    out.push(step.node);
    if (step.waitFor) out.push(step.waitFor.node);
    const target = meetTarget(step.command) ?? migrateTarget(step.command);
    if (target) out.push(target);
  }
  for (const check of plan.checks ?? []) out.push(check.node);
  return out;
}

function meetTarget(command: string[]): string | null {
  const [name = '', sub = '', host, port] = command.map(String);
  if (name.toUpperCase() !== 'CLUSTER' || sub.toUpperCase() !== 'MEET' || !host || !port) return null;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function migrateTarget(command: string[]): string | null {
  const [name = '', host, port] = command.map(String);
  if (name.toUpperCase() !== 'MIGRATE' || !host || !port) return null;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function commandProblem(
  command: string[],
  ids: Set<string>,
  nodeProblem: (addr: string) => string | null,
  scope: AddressScope,
): string | null {
  const [name = '', sub = '', ...args] = command.map(String);
  const upper = name.toUpperCase();
  const subUpper = sub.toUpperCase();
  if (FORBIDDEN.has(upper)) return `${upper} is never allowed`;
  if (upper === 'CONFIG') {
    if (
      subUpper !== 'SET' ||
      args.length !== 2 ||
      args[0]!.toLowerCase() !== 'cluster-require-full-coverage' ||
      !['yes', 'no'].includes(args[1]!.toLowerCase())
    ) {
      return 'the only CONFIG allowed is CONFIG SET cluster-require-full-coverage yes|no';
    }
    return null;
  }
  if (upper !== 'CLUSTER') return `${upper || '(empty)'} is not a repair command`;
  const knownId = (id: string | undefined): boolean => id !== undefined && isNodeId(id) && ids.has(id);
  switch (subUpper) {
    case 'ADDSLOTSRANGE':
    case 'DELSLOTSRANGE':
      return args.length >= 2 && args.length % 2 === 0 && args.every((a) => /^\d+$/.test(a) && isSlot(Number(a)))
        ? null
        : `${subUpper} needs pairs of slots 0-16383`;
    case 'BUMPEPOCH':
      return args.length === 0 ? null : 'BUMPEPOCH takes no argument';
    case 'FAILOVER':
      return args.length === 1 && ['FORCE', 'TAKEOVER'].includes(args[0]!.toUpperCase())
        ? null
        : 'only FAILOVER FORCE or FAILOVER TAKEOVER';
    case 'SETSLOT': {
      const [slot, mode, id] = args;
      if (slot === undefined || !/^\d+$/.test(slot) || !isSlot(Number(slot))) return 'SETSLOT needs a slot 0-16383';
      if (mode?.toUpperCase() === 'STABLE' && args.length === 2) return null;
      if (['NODE', 'IMPORTING'].includes(mode?.toUpperCase() ?? '') && args.length === 3 && knownId(id)) return null;
      return 'only SETSLOT <slot> STABLE, or SETSLOT <slot> NODE|IMPORTING <id of a node of this cluster>';
    }
    case 'FORGET':
    case 'REPLICATE':
      return args.length === 1 && knownId(args[0]) ? null : `${subUpper} needs the id of a node of this cluster`;
    case 'MEET': {
      const [host, port, bus] = args;
      if (!host || !port || !/^\d+$/.test(port) || (bus !== undefined && !/^\d+$/.test(bus)) || args.length > 3)
        return 'MEET needs host port [bus-port]';
      const addr = meetTarget(command)!;
      const problem = nodeProblem(addr);
      if (problem) return `MEET ${problem}`;
      return busProblem(scope, addr, bus);
    }
    default:
      return `CLUSTER ${subUpper} is not a repair command (RESET, FLUSHSLOTS and the like are never run)`;
  }
}

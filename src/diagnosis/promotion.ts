import type { ClusterModel, ModelNode } from './model';

/**
 * When Redis promotes a replica of a failed master by itself, and when it takes a person:
 * - never when the replica is flagged `nofailover` (cluster-replica-no-failover yes);
 * - never when its data looks too old: the time since it last heard from its master must stay
 *   under node-timeout x cluster-replica-validity-factor + repl-ping-replica-period (a factor
 *   of 0 turns the check off);
 * - never after a restart that happened once its master was gone: it has no idea how old its
 *   data is (`master_link_down_since_seconds:-1`) and counts it as infinitely old (redis#3914,
 *   redis#13234). Measured on 7.0: it stays a replica; with the factor set to 0 it promotes
 *   itself within about a second.
 * `CLUSTER FAILOVER FORCE` skips the data-age check but still needs the votes of a majority of
 * masters; `CLUSTER FAILOVER TAKEOVER` needs no vote at all.
 */
export interface PromotionSettings {
  nodeTimeoutMs: number | null;
  validityFactor: number | null;
  pingPeriodS: number | null;
}

// Redis's defaults, used to explain the rule when no node could tell us (a paste).
const DEFAULTS = { validityFactor: 10, pingPeriodS: 10 };

export function promotionSettings(model: ClusterModel): PromotionSettings {
  const read = (key: string): number | null => {
    const values = model.views
      .map((view) => view.config[key])
      .filter((text) => text !== undefined && text !== '')
      .map(Number)
      .filter(isCount);
    return values.length ? mostCommon(values) : null;
  };
  return {
    nodeTimeoutMs: read('cluster-node-timeout'),
    validityFactor: read('cluster-replica-validity-factor'),
    pingPeriodS: read('repl-ping-replica-period'),
  };
}

/** The longest a replica may have been cut off from its master and still run for election, in ms (null: off or unknown). */
export function validityWindowMs(settings: PromotionSettings): number | null {
  const factor = settings.validityFactor ?? DEFAULTS.validityFactor;
  if (factor === 0 || settings.nodeTimeoutMs === null) return null;
  return settings.nodeTimeoutMs * factor + (settings.pingPeriodS ?? DEFAULTS.pingPeriodS) * 1000;
}

/** The rule in words, with this cluster's numbers where known. */
export function validityWindowText(settings: PromotionSettings): string {
  if (settings.validityFactor === 0) return 'cluster-replica-validity-factor is 0: the data-age check is off';
  const factor = settings.validityFactor ?? DEFAULTS.validityFactor;
  const ping = settings.pingPeriodS ?? DEFAULTS.pingPeriodS;
  const window = validityWindowMs(settings);
  const timeout = settings.nodeTimeoutMs === null ? 'cluster-node-timeout' : `cluster-node-timeout ${settings.nodeTimeoutMs} ms`;
  return (
    `${timeout} x cluster-replica-validity-factor ${factor} + repl-ping-replica-period ${ping} s` +
    (window === null ? '' : ` = ${formatSeconds(window)}`) +
    (settings.validityFactor === null ? ' (Redis defaults: factor 10, period 10 s)' : '')
  );
}

/** The replica answered and says it never reached its master since it started. */
export function restartedWithoutMaster(replica: ModelNode): boolean {
  return replica.own?.replication['master_link_down_since_seconds'] === '-1';
}

export function flaggedNoFailover(replica: ModelNode): boolean {
  const own = replica.own?.myself?.flags;
  if (own) return own.includes('nofailover');
  return replica.seenBy.some((s) => s.line.flags.includes('nofailover'));
}

/**
 * Why a live replica of a failed master was not promoted by Redis, when its own replies show it;
 * null when nothing explains it (an election may still be under way, or was lost).
 */
export function whyNotPromoted(replica: ModelNode, settings: PromotionSettings): string | null {
  if (flaggedNoFailover(replica))
    return `${replica.addr} is flagged nofailover (cluster-replica-no-failover yes): Redis never promotes it by itself.`;
  if (settings.validityFactor === 0) return null;
  if (restartedWithoutMaster(replica)) {
    return (
      `${replica.addr} was restarted after its master died (master_link_down_since_seconds:-1): ` +
      'it cannot tell how old its data is, so it never runs for election by itself (redis#13234).'
    );
  }
  const downFor = Number(replica.own?.replication['master_link_down_since_seconds']);
  const window = validityWindowMs(settings);
  if (Number.isFinite(downFor) && window !== null && downFor * 1000 > window) {
    return (
      `${replica.addr} lost its master ${downFor} s ago, longer than the validity window (${validityWindowText(settings)}): ` +
      'Redis counts its data as too old to promote by itself.'
    );
  }
  return null;
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function isCount(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}

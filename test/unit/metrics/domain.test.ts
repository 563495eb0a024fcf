import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { parseConfig } from '../../../src/config/load';
import { countingHooks, createDomainMetrics } from '../../../src/metrics/domain';
import type { FixPlan, RepairResult } from '../../../src/repair/types';

describe('domain metrics: repairs and diagnoses counted from the job hooks', () => {
  // Never connected: these counters need no Redis.
  const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false });
  after(() => redis.disconnect());

  it('repairs_total{action,outcome} and diagnoses_total{verdict}; the inner hooks still run', async () => {
    const metrics = createDomainMetrics({ config: parseConfig({}), redis });
    const registry = new Registry();
    metrics.attach(registry);
    metrics.attach(registry); // twice is harmless
    const calls: string[] = [];
    const hooks = countingHooks(
      {
        onRepairDone: async () => {
          calls.push('repair');
        },
        onDiagnosisDone: async () => {
          calls.push('diagnosis');
        },
      },
      () => metrics,
    );
    const plan = { action: 'assign-slots' } as unknown as FixPlan;
    await hooks.onRepairDone!({} as never, { status: 'repaired', plan, planId: 'p', steps: [], durationMs: 1 } as RepairResult, 'j1');
    await hooks.onRepairDone!({} as never, { status: 'refused', planId: 'p', steps: [], durationMs: 1 } as RepairResult, 'j2');
    await hooks.onDiagnosisDone!({} as never, { verdict: 'down' } as never, 'j3');
    const text = await registry.metrics();
    assert.match(text, /redis_medic_repairs_total\{action="assign-slots",outcome="repaired"\} 1/);
    assert.match(text, /redis_medic_repairs_total\{action="unknown",outcome="refused"\} 1/);
    assert.match(text, /redis_medic_diagnoses_total\{verdict="down"\} 1/);
    assert.deepEqual(calls, ['repair', 'repair', 'diagnosis']);
  });
});

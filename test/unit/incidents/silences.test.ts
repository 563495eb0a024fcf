import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { maintenanceSilence, parseSilenceDuration } from '../../../src/incidents/silences';

describe('silences (pure parts)', () => {
  it('durations: units and sums; bad, too short and too long ones say what is wrong', () => {
    assert.deepEqual(parseSilenceDuration('30m'), { ok: true, ms: 30 * 60_000 });
    assert.deepEqual(parseSilenceDuration('1h30m'), { ok: true, ms: 90 * 60_000 });
    assert.deepEqual(parseSilenceDuration('2D'), { ok: true, ms: 2 * 86_400_000 });
    assert.deepEqual(parseSilenceDuration('1w'), { ok: true, ms: 7 * 86_400_000 });
    for (const [text, why] of [
      ['soon', /not a duration/],
      ['-1h', /not a duration/],
      ['1.5h', /not a duration/],
      ['2', /not a duration/],
      ['59s', /shorter than a minute/],
      ['8d', /longer than 7 days/],
      ['1w1m', /longer than 7 days/],
    ] as const) {
      const parsed = parseSilenceDuration(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, why);
    }
  });

  it('a configured maintenance window silences only while in force; bad windows are config errors', () => {
    const config = parseConfig({
      clusters: [
        {
          name: 'payments',
          seeds: ['127.0.0.1:7000'],
          maintenance: [{ from: '2026-12-01T02:00:00Z', until: '2026-12-01T04:00:00+00:00', reason: 'upgrade' }],
        },
      ],
    });
    const cluster = config.clusters[0]!;
    assert.equal(maintenanceSilence(cluster, Date.parse('2026-12-01T01:59:59Z')), null);
    assert.deepEqual(maintenanceSilence(cluster, Date.parse('2026-12-01T03:00:00Z')), {
      cluster: 'payments',
      at: Date.parse('2026-12-01T02:00:00Z'),
      until: Date.parse('2026-12-01T04:00:00Z'),
      reason: 'upgrade',
      by: 'config',
      source: 'maintenance',
    });
    assert.equal(maintenanceSilence(cluster, Date.parse('2026-12-01T04:00:00Z')), null);
    assert.throws(
      () =>
        parseConfig({
          clusters: [{ name: 'a', seeds: ['127.0.0.1:7000'], maintenance: [{ from: 'tonight', until: '2026-12-01T01:00:00Z' }] }],
        }),
      /clusters\.0\.maintenance\.0\.from: an ISO 8601 time with its zone/,
    );
    assert.throws(
      () =>
        parseConfig({
          clusters: [
            { name: 'a', seeds: ['127.0.0.1:7000'], maintenance: [{ from: '2026-12-01T02:00:00Z', until: '2026-12-01T01:00:00Z' }] },
          ],
        }),
      /clusters\.0\.maintenance\.0\.until: `until` must be after `from`/,
    );
  });
});

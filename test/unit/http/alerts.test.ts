import assert from 'node:assert/strict';
import { bearerMatches, parseAlertmanager, parseGenericAlert, planAlertJobs } from '../../../src/http/alerts';

// As Alertmanager sends it (webhook version 4), trimmed.
function alertmanagerPayload(overrides: Record<string, unknown> = {}) {
  return {
    version: '4',
    groupKey: '{}:{alertname="RedisClusterDown"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'redis-medic',
    groupLabels: { alertname: 'RedisClusterDown' },
    commonLabels: { alertname: 'RedisClusterDown', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'RedisClusterDown', redis_cluster: 'payments', instance: '10.0.0.32:9121' },
        annotations: { summary: 'cluster_state is fail on 10.0.0.31' },
        startsAt: '2026-01-01T03:21:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus/graph',
        fingerprint: 'c0ffee',
      },
    ],
    ...overrides,
  };
}

describe('http/alerts: parsing (pure)', () => {
  it('Alertmanager: the cluster from the alert label, the summary from its annotation', () => {
    assert.deepEqual(parseAlertmanager(alertmanagerPayload(), 'redis_cluster'), {
      ok: true,
      source: 'alertmanager',
      alerts: [
        {
          cluster: 'payments',
          status: 'firing',
          summary: 'cluster_state is fail on 10.0.0.31',
          name: 'RedisClusterDown',
          key: 'fp:c0ffee',
        },
      ],
    });
  });

  it('Alertmanager: the label may be common to the group; the label name is configurable', () => {
    const payload = alertmanagerPayload({
      commonLabels: { alertname: 'RedisDown', cluster: 'cache' },
      alerts: [{ status: 'resolved', labels: { alertname: 'RedisDown' }, annotations: {} }],
    });
    const parsed = parseAlertmanager(payload, 'cluster');
    assert.deepEqual(parsed, {
      ok: true,
      source: 'alertmanager',
      alerts: [
        { cluster: 'cache', status: 'resolved', summary: 'RedisDown', name: 'RedisDown', key: parsed.ok ? parsed.alerts[0]!.key : '' },
      ],
    });
  });

  it('Alertmanager: an alert without the label is refused with the reason (422)', () => {
    const payload = alertmanagerPayload({ alerts: [{ status: 'firing', labels: { alertname: 'DiskFull' }, annotations: {} }] });
    const result = parseAlertmanager(payload, 'redis_cluster');
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? null : [result.status, result.error], [
      422,
      'alert "DiskFull" has no "redis_cluster" label: it must name the Redis cluster (alerts.clusterLabel sets which label)',
    ]);
  });

  it('Alertmanager: not its shape is a 400 naming the field', () => {
    const result = parseAlertmanager({ status: 'firing', alerts: 'x' }, 'redis_cluster');
    assert.ok(!result.ok && result.status === 400 && /alerts:/.test(result.error), JSON.stringify(result));
    const empty = parseAlertmanager(alertmanagerPayload({ alerts: [] }), 'redis_cluster');
    assert.ok(!empty.ok && /no alerts in the payload/.test(empty.error));
  });

  it('summaries are one bounded line (they end up in Slack)', () => {
    const payload = alertmanagerPayload({
      alerts: [{ status: 'firing', labels: { redis_cluster: 'payments' }, annotations: { summary: `line1\nline2${'x'.repeat(500)}` } }],
    });
    const result = parseAlertmanager(payload, 'redis_cluster');
    assert.ok(result.ok);
    const summary = result.alerts[0]!.summary!;
    assert.ok(summary.startsWith('line1 line2') && summary.length === 200 && summary.endsWith('…'));
  });

  it('generic: {cluster}, firing by default, optional summary and source', () => {
    assert.deepEqual(parseGenericAlert({ cluster: 'payments' }), {
      ok: true,
      source: 'webhook',
      alerts: [{ cluster: 'payments', status: 'firing' }],
    });
    assert.deepEqual(parseGenericAlert({ cluster: 'payments', status: 'resolved', source: 'grafana', summary: 'ok again' }), {
      ok: true,
      source: 'grafana',
      alerts: [{ cluster: 'payments', status: 'resolved', summary: 'ok again' }],
    });
    const bad = parseGenericAlert({ clusters: 'payments' });
    assert.ok(!bad.ok && bad.status === 400 && /cluster/.test(bad.error));
    assert.ok(!parseGenericAlert({ cluster: 'payments', source: 'evil <script>' }).ok);
  });

  it('plan: one job per cluster, firing wins over resolved, resolved alone is a recheck', () => {
    const plan = planAlertJobs(
      [
        { cluster: 'payments', status: 'resolved' },
        { cluster: 'payments', status: 'firing', summary: 'down' },
        { cluster: 'cache', status: 'resolved', summary: 'fine' },
      ],
      'alertmanager',
      ['payments', 'cache'],
    );
    assert.ok(plan.ok);
    // Every alert is carried along (for the incident thread's notes), keyed by what it says.
    const keys = plan.jobs.flatMap((j) => j.alerts ?? []).map((a) => a.key);
    assert.ok(keys.every((k) => /^said:[0-9a-f]{16}$/.test(k)) && new Set(keys).size === 3, keys.join());
    assert.deepEqual(
      plan.jobs.map(({ alerts, ...job }) => ({ ...job, alerts: alerts?.map(({ key: _key, ...a }) => a) })),
      [
        {
          cluster: 'payments',
          reason: 'alert',
          alert: { source: 'alertmanager', status: 'firing', summary: 'down' },
          alerts: [
            { source: 'alertmanager', name: 'alertmanager', status: 'resolved' },
            { source: 'alertmanager', name: 'alertmanager', status: 'firing', summary: 'down' },
          ],
        },
        {
          cluster: 'cache',
          reason: 'recheck',
          alert: { source: 'alertmanager', status: 'resolved', summary: 'fine' },
          alerts: [{ source: 'alertmanager', name: 'alertmanager', status: 'resolved', summary: 'fine' }],
        },
      ],
    );
  });

  it('Alertmanager: each alert keeps its name and a stable key (its fingerprint, else its labels)', () => {
    const result = parseAlertmanager(
      alertmanagerPayload({
        alerts: [
          { status: 'firing', labels: { alertname: 'RedisDown', redis_cluster: 'payments' }, annotations: {}, fingerprint: 'abc123' },
          { status: 'firing', labels: { alertname: 'RedisLag', redis_cluster: 'payments', node: 'a' }, annotations: {} },
          { status: 'resolved', labels: { node: 'a', redis_cluster: 'payments', alertname: 'RedisLag' }, annotations: {} },
        ],
      }),
      'redis_cluster',
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.alerts.map((a) => a.name),
      ['RedisDown', 'RedisLag', 'RedisLag'],
    );
    assert.equal(result.alerts[0]!.key, 'fp:abc123');
    assert.match(result.alerts[1]!.key!, /^labels:[0-9a-f]{16}$/);
    assert.equal(result.alerts[1]!.key, result.alerts[2]!.key, 'the same labels in another order are the same alert');
  });

  it('plan: an unknown cluster refuses everything, naming what is known', () => {
    assert.deepEqual(
      planAlertJobs(
        [
          { cluster: 'payments', status: 'firing' },
          { cluster: 'x', status: 'firing' },
        ],
        'webhook',
        ['a', 'b', 'payments'],
      ),
      { ok: false, status: 422, error: 'unknown cluster "x"; known: a, b, payments' },
    );
    assert.deepEqual(
      planAlertJobs(
        [
          { cluster: 'x', status: 'firing' },
          { cluster: 'y', status: 'firing' },
        ],
        'webhook',
        [],
      ),
      { ok: false, status: 422, error: 'unknown clusters "x", "y"; known: none configured' },
    );
  });

  it('bearer token: exact match only', () => {
    assert.equal(bearerMatches('Bearer s3cret', 's3cret'), true);
    assert.equal(bearerMatches('bearer s3cret', 's3cret'), true);
    assert.equal(bearerMatches('Bearer s3cre', 's3cret'), false);
    assert.equal(bearerMatches('Bearer s3cretX', 's3cret'), false);
    assert.equal(bearerMatches('Basic s3cret', 's3cret'), false);
    assert.equal(bearerMatches(undefined, 's3cret'), false);
    assert.equal(bearerMatches('Bearer ', 's3cret'), false);
  });
});

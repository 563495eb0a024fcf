import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { defaultRequest, parseCommandText, resolveTypedCluster } from '../../../src/slack/command-grammar';

describe('slack command grammar', () => {
  const config = parseConfig({
    clusters: [
      { name: 'payments', seeds: ['10.0.0.31:6379', '10.0.0.32:6379'], spareNodes: ['10.0.0.40:6379'] },
      { name: 'cache', seeds: ['cache-1.internal:6379'] },
    ],
  });

  it('parses every form', () => {
    assert.deepEqual(parseCommandText(''), { kind: 'bare' });
    assert.deepEqual(parseCommandText('   '), { kind: 'bare' });
    assert.deepEqual(parseCommandText('help'), { kind: 'help' });
    assert.deepEqual(parseCommandText('LIST'), { kind: 'list' });
    assert.deepEqual(parseCommandText('paste'), { kind: 'paste' });
    assert.deepEqual(parseCommandText('payments'), { kind: 'diagnose', ref: 'payments' });
    assert.deepEqual(parseCommandText(' audit   payments '), { kind: 'audit', ref: 'payments' });
    assert.deepEqual(parseCommandText('10.0.0.31:6379'), { kind: 'diagnose', ref: '10.0.0.31:6379' });
  });

  it('gives a usage message for extra or missing words', () => {
    assert.equal(parseCommandText('audit').kind, 'usage');
    assert.equal(parseCommandText('audit a b').kind, 'usage');
    assert.equal(parseCommandText('list all').kind, 'usage');
    assert.equal(parseCommandText('payments cache').kind, 'usage');
  });

  it('undoes Slack escaping and auto-links of typed text', () => {
    assert.deepEqual(parseCommandText('<http://cache-1.internal:6379|cache-1.internal:6379>'), {
      kind: 'diagnose',
      ref: 'cache-1.internal:6379',
    });
    assert.deepEqual(parseCommandText('<http://cache-1.internal:6379>'), { kind: 'diagnose', ref: 'cache-1.internal:6379' });
    assert.deepEqual(parseCommandText('a&amp;b'), { kind: 'diagnose', ref: 'a&b' });
  });

  it('with no argument: the only cluster, else help', () => {
    const one = parseConfig({ clusters: [{ name: 'solo', seeds: ['10.0.0.1:6379'] }] });
    assert.deepEqual(defaultRequest(one, parseCommandText('')), { kind: 'diagnose', ref: 'solo' });
    assert.deepEqual(defaultRequest(config, parseCommandText('')), { kind: 'help' });
  });

  it('`help` shows help even when only one cluster is configured (it used to diagnose it)', () => {
    const one = parseConfig({ clusters: [{ name: 'solo', seeds: ['10.0.0.1:6379'] }] });
    assert.deepEqual(defaultRequest(one, parseCommandText('help')), { kind: 'help' });
    assert.deepEqual(defaultRequest(one, parseCommandText(' HELP ')), { kind: 'help' });
  });

  it('resolves names and configured addresses, and refuses anything else', () => {
    const byName = resolveTypedCluster(config, 'payments');
    assert.ok(byName.ok && byName.cluster.name === 'payments' && !byName.viaAddress);
    const bySeed = resolveTypedCluster(config, '10.0.0.32:6379');
    assert.ok(bySeed.ok && bySeed.cluster.name === 'payments' && bySeed.viaAddress);
    const bySpare = resolveTypedCluster(config, '10.0.0.40:6379');
    assert.ok(bySpare.ok && bySpare.cluster.name === 'payments');
    const unknown = resolveTypedCluster(config, 'orders');
    assert.ok(!unknown.ok);
    assert.match(unknown.message, /unknown cluster "orders"\. Known clusters: payments, cache/);
    const made = resolveTypedCluster(config, '192.168.1.1:6379');
    assert.ok(!made.ok);
    assert.match(made.message, /192\.168\.1\.1:6379 is not a node of any configured cluster/);
  });
});

import assert from 'node:assert/strict';
import { targetCluster } from '../../../src/cli/diagnose';
import { parseConfig } from '../../../src/config/load';

describe('cli: the cluster a command targets, and its scope', () => {
  const config = parseConfig({ clusters: [{ name: 'payments', seeds: ['10.0.0.31:6379'], allowedNetworks: ['10.0.0.0/24'] }] });

  it('ad-hoc seeds take --allow as their allowedNetworks (checked), else the default', () => {
    assert.deepEqual(targetCluster('10.0.0.31:6379', { allow: '10.0.0.0/16, 10.1.0.0/24:6379' }, config).allowedNetworks, [
      '10.0.0.0/16',
      '10.1.0.0/24:6379',
    ]);
    assert.equal(targetCluster('10.0.0.31:6379', {}, config).allowedNetworks, undefined);
    assert.throws(() => targetCluster('10.0.0.31:6379', { allow: '10.0.0.0/40' }, config), /--allow: "10\.0\.0\.0\/40" is not a CIDR/);
  });

  it('a configured cluster keeps the scope of its configuration: --allow is refused', () => {
    assert.deepEqual(targetCluster('payments', {}, config).allowedNetworks, ['10.0.0.0/24']);
    assert.throws(() => targetCluster('payments', { allow: '0.0.0.0/0' }, config), /--allow is for ad-hoc seeds/);
  });
});

import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { probeTarget } from '../../../src/incidents/probe-tasks';

describe('probeTarget (what of a cluster config crosses to the probe thread)', () => {
  it('keeps where the nodes may be and how to log in; drops paging keys, approvers, channel and maintenance', () => {
    const [cluster] = parseConfig({
      clusters: [
        {
          name: 'shop',
          seeds: ['10.0.0.1:6379'],
          username: 'medic',
          password: 'cl-secret',
          tls: true,
          channel: 'C0SHOP',
          spareNodes: ['10.0.0.9:6379'],
          allowedNetworks: ['10.0.0.0/24'],
          approvers: { users: ['U0ALICE'] },
          paging: { pagerduty: { routingKey: 'pd-secret-key' } },
        },
      ],
    }).clusters;
    const target = probeTarget(cluster!);
    assert.deepEqual(target, {
      name: 'shop',
      seeds: ['10.0.0.1:6379'],
      username: 'medic',
      password: 'cl-secret',
      tls: true,
      spareNodes: ['10.0.0.9:6379'],
      allowedNetworks: ['10.0.0.0/24'],
      neverContact: cluster!.neverContact,
    });
    assert.doesNotMatch(JSON.stringify(target), /pd-secret-key|U0ALICE|C0SHOP/);
  });
});

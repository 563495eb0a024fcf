import assert from 'node:assert/strict';
import { parseConfig } from '../../../../src/config/load';
import { ago, helpMessage, listMessage, pasteModal } from '../../../../src/slack/blocks/command';

describe('slack command blocks', () => {
  const config = parseConfig({
    clusters: [
      { name: 'payments', seeds: ['10.0.0.1:6379'], channel: 'C1' },
      { name: 'cache', seeds: ['10.0.0.2:6379', '10.0.0.3:6379'] },
    ],
  });

  it('help lists every subcommand and the clusters', () => {
    const text = JSON.stringify(helpMessage(config).blocks);
    for (const sub of ['<cluster>', 'list', 'audit <cluster>', 'paste', 'help']) assert.ok(text.includes(`/redis-diagnose ${sub}`), sub);
    assert.match(text, /Clusters: `payments`, `cache`/);
  });

  it('list shows each cluster with its last state, or that it was never diagnosed', () => {
    const now = Date.parse('2024-01-01T00:10:00Z');
    const states = new Map([
      [
        'payments',
        { verdict: 'degraded' as const, primary: 'NODE_UNREACHABLE' as const, checkedAt: '2024-01-01T00:07:00Z', uncovered: [] },
      ],
    ]);
    const text = JSON.stringify(listMessage(config, states, now).blocks);
    assert.match(text, /\*payments\* \(1 seed, <#C1>\): :large_orange_circle: DEGRADED, `NODE_UNREACHABLE`, checked 3 min ago/);
    assert.match(text, /\*cache\* \(2 seeds\): never diagnosed/);
  });

  it('ago in words', () => {
    assert.equal(ago(5000), '5 s ago');
    assert.equal(ago(3 * 3600_000), '3 h ago');
    assert.equal(ago(-1), 'just now');
  });

  it("the paste modal respects Slack's limits", () => {
    const view = pasteModal('x'.repeat(5000));
    assert.ok(view.title.text.length <= 24);
    assert.ok((view.private_metadata ?? '').length <= 3000);
    const input = view.blocks.find((b) => b.type === 'input') as { element: { multiline: boolean; max_length: number } };
    assert.equal(input.element.multiline, true);
    assert.equal(input.element.max_length, 3000);
  });
});

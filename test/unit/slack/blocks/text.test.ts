import assert from 'node:assert/strict';
import { codeBlock, escapeMrkdwn, mention, truncate, unescapeSlackText } from '../../../../src/slack/blocks/text';

describe('slack text helpers', () => {
  it('escapes exactly &, < and >', () => {
    assert.equal(escapeMrkdwn('a & b <@U1> > c *bold*'), 'a &amp; b &lt;@U1&gt; &gt; c *bold*');
    assert.equal(escapeMrkdwn('&amp;'), '&amp;amp;');
  });

  it('truncates with a marker, never past the limit', () => {
    assert.equal(truncate('short', 10), 'short');
    assert.equal(truncate('0123456789abc', 10), '012345678…');
    assert.equal(truncate('0123456789abc', 10).length, 10);
  });

  it('code blocks: escaped, fenced, cut on a line boundary with a count of what was left out', () => {
    assert.equal(codeBlock(['a <b>', 'c']), '```\na &lt;b&gt;\nc\n```');
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(50)}`);
    const block = codeBlock(lines, 3000);
    assert.ok(block.length <= 3000, `${block.length}`);
    assert.match(block, /\(\d+ more lines not shown\)\n```$/);
    const one = codeBlock(['y'.repeat(5000)], 3000);
    assert.ok(one.length <= 3000);
    assert.doesNotMatch(codeBlock(['evil ``` fence']), /evil ``` fence/);
  });

  it('mentions only real Slack ids', () => {
    assert.equal(mention('U012AB'), '<@U012AB>');
    assert.equal(mention('cli:<bob>'), 'cli:&lt;bob&gt;');
  });

  it("undoes Slack's escaping of typed text", () => {
    assert.equal(unescapeSlackText('&lt;x&gt; &amp; <mailto:a@b.c|a@b.c>'), '<x> & a@b.c');
  });
});

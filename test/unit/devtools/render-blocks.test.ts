// The demo page renders what the bot posts as HTML; cluster data in it is hostile (a node can
// announce any bytes as its address or hostname), so everything must come out as text.
import assert from 'node:assert/strict';
import { blocksToHtml, mrkdwnToHtml } from '../../../src/devtools/render-blocks';
import { escapeMrkdwn } from '../../../src/slack/blocks/text';

const HOSTILE = '10.0.0.1"><img src=x onerror=alert(1)><script>alert(2)</script>:6379';
const id = (b: number, e: number | 'accessory'): string => `m1.2:${b}:${e}`;

function assertInert(html: string): void {
  // Escaped text has no raw "<": any of these would be a real tag or attribute.
  assert.doesNotMatch(html, /<img|<script|<[^>]*onerror|href="javascript/i, html);
}

describe('Block Kit as HTML (the demo page)', () => {
  it('escapes cluster data in mrkdwn, plain text, fields, context, buttons and confirm dialogs', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: `Node ${HOSTILE}` } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Down:* ${escapeMrkdwn(HOSTILE)}` },
        fields: [{ type: 'mrkdwn', text: escapeMrkdwn(HOSTILE) }],
      },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `\`${escapeMrkdwn(HOSTILE)}\`` },
          { type: 'image', alt_text: HOSTILE },
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'redis_medic.approve',
            value: 'v',
            style: 'danger',
            text: { type: 'plain_text', text: `Approve: forget ${HOSTILE}` },
            confirm: {
              title: { type: 'plain_text', text: `Run "${HOSTILE}"?` },
              text: { type: 'plain_text', text: `CLUSTER FORGET ${HOSTILE}` },
              confirm: { type: 'plain_text', text: 'Run it' },
              deny: { type: 'plain_text', text: 'Cancel' },
            },
          },
        ],
      },
      { type: `x"><img src=x>`, text: 'unknown block' },
    ];
    const html = blocksToHtml(blocks, 'fallback', id);
    assertInert(html);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /<strong>Down:<\/strong>/);
    assert.match(html, /data-button="m1\.2:3:0" data-has-confirm="true"/);
    assert.match(html, /<template data-confirm-for="m1\.2:3:0">/);
    assert.match(html, /bk-danger/);
  });

  it("shows Slack's own escapes as the characters they stand for, once", () => {
    assert.equal(mrkdwnToHtml('a &lt;b&gt; &amp; c'), 'a &lt;b&gt; &amp; c');
    assert.equal(mrkdwnToHtml('literally &amp;lt;'), 'literally &amp;lt;');
  });

  it('links only to http(s); a Slack link with another scheme stays text', () => {
    assert.match(mrkdwnToHtml('<https://example.test/runbook|runbook>'), /<a href="https:\/\/example\.test\/runbook">runbook<\/a>/);
    assertInert(mrkdwnToHtml('<javascript:alert(1)|click>'));
  });

  it('a message without blocks shows its text as mrkdwn', () => {
    assert.equal(blocksToHtml(undefined, '*hi* <@U0ONCALL>', id).includes('<strong>hi</strong>'), true);
  });
});

import escapeHtml from 'escape-html';
import { toHTML } from 'slack-markdown';
import type { RecordedCall } from './local-slack';

/**
 * Slack messages as a terminal shows them, for `demo --auto`: who posted where, then each
 * block as plain lines (buttons in brackets). Good enough to follow a thread, not a renderer.
 */
export function renderCall(call: RecordedCall): string | undefined {
  const p = call.params;
  let heading: string;
  switch (call.method) {
    case 'chat.postMessage':
      heading = p.thread_ts ? `#${p.channel} · reply in thread ${p.thread_ts}` : `#${p.channel} · new message ${call.response?.ts ?? ''}`;
      break;
    case 'chat.update':
      heading = `#${p.channel} · message ${p.ts} edited`;
      break;
    case 'chat.postEphemeral':
      heading = `#${p.channel} · only visible to ${p.user}`;
      break;
    default:
      if (!call.method.startsWith('response_url')) return undefined;
      heading = 'reply to the person who clicked or typed (ephemeral)';
  }
  const body = Array.isArray(p.blocks) && p.blocks.length ? p.blocks.flatMap(renderBlock) : [String(p.text ?? '')];
  return [`┌─ ${heading}`, ...body.flatMap((l) => l.split('\n')).map((l) => `│ ${l}`), '└─'].join('\n');
}

function renderBlock(block: any): string[] {
  switch (block.type) {
    case 'header':
      return [`*${block.text?.text ?? ''}*`];
    case 'section':
      return [
        ...(block.text ? [block.text.text as string] : []),
        ...((block.fields ?? []) as any[]).map((f) => `  ${f.text}`),
        ...(block.accessory?.type === 'button' ? [`[ ${block.accessory.text.text} ]`] : []),
      ];
    case 'context':
      return [((block.elements ?? []) as any[]).map((e) => e.text ?? '').join('  ')];
    case 'actions':
      return [((block.elements ?? []) as any[]).map((e) => `[ ${e.text?.text ?? e.action_id} ]`).join(' ')];
    case 'divider':
      return ['────'];
    default:
      return [];
  }
}

// ---- HTML, for the demo's local channel page ---------------------------------------------
// Everything that came from a message is escaped: node addresses, CLUSTER NODES lines and
// announced hostnames are the cluster's own data, and a hostile node can put markup in them.

/**
 * Slack mrkdwn as HTML (bold, italic, code, links, mentions, emoji), escaped by slack-markdown.
 * Slack's own escapes (&amp; &lt; &gt;) are text, and slack-markdown escapes them once more:
 * undoing that one level turns `&amp;lt;` back into the entity `&lt;`, never into a tag.
 */
export function mrkdwnToHtml(text: string): string {
  return toHTML(text).replace(/&amp;(amp|lt|gt);/g, '&$1;');
}

function textHtml(t: any): string {
  if (!t || typeof t.text !== 'string') return '';
  return t.type === 'mrkdwn' ? mrkdwnToHtml(t.text) : escapeHtml(t.text);
}

/** What a button's HTML needs: the page's id for it, so a click can name the button back. */
export type ButtonId = (blockIndex: number, elementIndex: number | 'accessory') => string;

/**
 * A message's blocks as HTML. Buttons carry `data-button` (the id the page posts back on a
 * click); a button with a Block Kit `confirm` object carries its dialog in a <template>.
 */
export function blocksToHtml(blocks: unknown, fallbackText: unknown, buttonId: ButtonId): string {
  if (!Array.isArray(blocks) || blocks.length === 0) return `<div class="bk-text">${mrkdwnToHtml(String(fallbackText ?? ''))}</div>`;
  return blocks.map((block, i) => blockHtml(block, i, buttonId)).join('');
}

function blockHtml(block: any, index: number, buttonId: ButtonId): string {
  switch (block?.type) {
    case 'header':
      return `<div class="bk-header">${textHtml(block.text)}</div>`;
    case 'section': {
      const fields = Array.isArray(block.fields)
        ? `<div class="bk-fields">${(block.fields as any[]).map((f) => `<div>${textHtml(f)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory ? elementHtml(block.accessory, buttonId(index, 'accessory')) : '';
      return `<div class="bk-section"><div class="bk-text">${textHtml(block.text)}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="bk-context">${((block.elements ?? []) as any[])
        .map((e) => (e.type === 'image' ? `<span>[${escapeHtml(String(e.alt_text ?? 'image'))}]</span>` : `<span>${textHtml(e)}</span>`))
        .join(' ')}</div>`;
    case 'actions':
      return `<div class="bk-actions">${((block.elements ?? []) as any[]).map((e, j) => elementHtml(e, buttonId(index, j))).join('')}</div>`;
    case 'divider':
      return '<hr class="bk-divider">';
    default:
      return `<div class="bk-unsupported">[${escapeHtml(String(block?.type ?? 'unknown'))} block]</div>`;
  }
}

function elementHtml(element: any, id: string): string {
  if (element?.type !== 'button') return `<span class="bk-unsupported">[${escapeHtml(String(element?.type ?? 'element'))}]</span>`;
  const style = element.style === 'primary' || element.style === 'danger' ? ` bk-${element.style}` : '';
  const button = `<button type="button" class="bk-button${style}" data-button="${escapeHtml(id)}"${
    element.confirm ? ' data-has-confirm="true"' : ''
  }>${textHtml(element.text)}</button>`;
  if (!element.confirm) return button;
  const c = element.confirm;
  const confirmStyle = c.style === 'danger' ? 'bk-danger' : 'bk-primary';
  return `${button}<template data-confirm-for="${escapeHtml(id)}"><h3 class="bk-dialog-title">${textHtml(c.title)}</h3><div class="bk-dialog-text">${textHtml(
    c.text,
  )}</div><div class="bk-dialog-buttons"><button type="button" class="bk-button" data-deny>${textHtml(
    c.deny ?? { type: 'plain_text', text: 'Cancel' },
  )}</button><button type="button" class="bk-button ${confirmStyle}" data-confirm>${textHtml(
    c.confirm ?? { type: 'plain_text', text: 'Yes' },
  )}</button></div></template>`;
}

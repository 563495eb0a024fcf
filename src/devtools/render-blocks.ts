import type { RecordedCall } from './local-slack';

/**
 * Slack messages as a terminal shows them, for `demo --serve`: who posted where, then each
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

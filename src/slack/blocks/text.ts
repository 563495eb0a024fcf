import { plural, truncate } from '../../text';

// Slack text rules in one place: what must be escaped, and how long each field may be.
// https://docs.slack.dev/messaging/formatting-message-text#escaping and the Block Kit reference.

/** Field limits from the Block Kit reference; exceeding any of them makes Slack reject the call. */
export const LIMITS = {
  sectionText: 3000,
  headerText: 150,
  contextText: 2000,
  blocksPerMessage: 50,
  blocksPerModal: 100,
  buttonText: 75,
  buttonValue: 2000,
  actionsPerBlock: 25,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  plainTextInput: 3000,
  privateMetadata: 3000,
  inputError: 2000,
  /** The notification / fallback `text` of a message: Slack truncates at 40k, keep it short. */
  fallbackText: 3000,
} as const;

/** Escape the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export { truncate };

/**
 * The top-level `text` of a message (notifications, screen readers, clients without blocks).
 * Slack parses it like mrkdwn, so `<!channel>` in a node's announced address would ping the
 * channel: escaped like every other string that carries data, then cut to the fallback limit.
 */
export function fallbackText(text: string): string {
  // Cut before escaping is measured, but never inside an entity such as &amp;.
  return truncate(escapeMrkdwn(text), LIMITS.fallbackText).replace(/&[a-z]{0,3}…$/, '…');
}

/**
 * A code block of raw lines (escaped, and fenced so that a stray ``` in the data cannot end it),
 * cut to `max` characters on a line boundary with a note saying how many lines were left out.
 */
export function codeBlock(lines: readonly string[], max: number = LIMITS.sectionText): string {
  const fence = '```';
  const safe = lines.map((l) => escapeMrkdwn(l).replace(/```/g, '`\u200b``'));
  const budget = max - 2 * fence.length - 2;
  const kept: string[] = [];
  let used = 0;
  for (let i = 0; i < safe.length; i++) {
    const line = safe[i]!;
    const left = safe.length - i;
    const note = `(${plural(left, 'more line')} not shown)`;
    const cost = line.length + 1;
    // Reserve room for the "more lines" note unless this is the last line.
    if (used + cost > budget - (i === safe.length - 1 ? 0 : note.length + 1)) {
      if (kept.length === 0) kept.push(truncate(line, budget - note.length - 1));
      const remaining = safe.length - kept.length;
      if (remaining > 0) kept.push(`(${plural(remaining, 'more line')} not shown)`);
      break;
    }
    kept.push(line);
    used += cost;
  }
  return `${fence}\n${kept.join('\n')}\n${fence}`;
}

/** A Slack user mention for an id we received from Slack (ids are [A-Z0-9]). */
export function mention(userId: string): string {
  return /^[A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** Approvers as a job names them (`U1` or `U1+U2` when several were needed): `<@U1> and <@U2>`. */
export function approversText(approvedBy: string): string {
  return approvedBy.split('+').map(mention).join(' and ');
}

/** Undo what Slack does to typed command text: `&amp;` escapes and auto-linked `<url|label>`. */
export function unescapeSlackText(text: string): string {
  return text
    .replace(/<([^>|]*)\|([^>]*)>/g, '$2')
    .replace(/<([^>]*)>/g, (_m, inner: string) => inner.replace(/^(mailto:|https?:\/\/)/, ''))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * A permalink Slack gave us (chat.getPermalink), as bare text Slack links by itself; anything
 * that does not look like one is not shown (null). Never `<url|label>`: no link is made from data.
 */
export function permalinkText(url: string | null | undefined): string | null {
  return url && /^https:\/\/[^\s<>|]+$/.test(url) ? escapeMrkdwn(url) : null;
}

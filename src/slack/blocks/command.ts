import { countSlots } from '../../cluster/slots';
import type { Config } from '../../config/schema';
import type { LastState } from '../cluster-states';
import { COMMAND, PASTE_BLOCK, PASTE_INPUT, VIEWS } from '../ids';
import { VERDICT_ICON } from './diagnosis';
import { section, type MessageBody, type ModalView } from './kit';
import { escapeMrkdwn, fallbackText, LIMITS, mention, permalinkText, truncate } from './text';
import { plural } from '../../text';
import { isActive, type Silence } from '../../incidents/silences';

export function helpMessage(config: Config): MessageBody {
  const names = config.clusters.map((c) => `\`${escapeMrkdwn(c.name)}\``).join(', ') || '_none configured_';
  const text = [
    `*${COMMAND}*: diagnose a Redis Cluster and offer fixes you approve here.`,
    `• \`${COMMAND} <cluster>\`: ask every node, name the root cause, offer fixes`,
    `• \`${COMMAND} list\`: the clusters and their last state`,
    `• \`${COMMAND} audit <cluster>\`: prevention checks (a replica per master, failure domains, full-coverage setting, bus ports)`,
    `• \`${COMMAND} silence <cluster> <duration> [reason]\`: no incident thread and no page for a while (approvers; e.g. \`2h\`, \`30m\`); \`unsilence <cluster>\` ends it`,
    `• \`${COMMAND} paste\`: analyse pasted \`CLUSTER NODES\` output offline (connects to nothing)`,
    `• \`${COMMAND} help\`: this`,
    `Clusters: ${names}`,
  ].join('\n');
  return { text: `${COMMAND} help`, blocks: [section(truncate(text, LIMITS.sectionText))] };
}

export function usageMessage(message: string, config: Config): MessageBody {
  const help = helpMessage(config);
  return {
    text: fallbackText(message),
    blocks: [section(truncate(`:warning: ${escapeMrkdwn(message)}`, LIMITS.sectionText)), ...help.blocks],
  };
}

export function refusedClusterMessage(message: string): MessageBody {
  return { text: fallbackText(message), blocks: [section(truncate(`:no_entry: ${escapeMrkdwn(message)}`, LIMITS.sectionText))] };
}

export function listMessage(
  config: Config,
  states: Map<string, LastState>,
  now: number,
  silences: Map<string, Silence> = new Map(),
): MessageBody {
  if (config.clusters.length === 0) {
    return {
      text: 'No clusters configured',
      blocks: [section('No clusters are configured. Add them to the redis-medic configuration (`clusters:`).')],
    };
  }
  const lines = config.clusters.map((cluster) => {
    const state = states.get(cluster.name);
    const name = `*${escapeMrkdwn(cluster.name)}* (${plural(cluster.seeds.length, 'seed')}${cluster.channel ? `, <#${cluster.channel}>` : ''})`;
    const silence = silences.get(cluster.name);
    const silenced = silence && isActive(silence, now) ? `\n    ${silenceLine(silence)}` : '';
    if (!state) return `• ${name}: never diagnosed${silenced}`;
    const uncovered = countSlots(state.uncovered);
    const detail = [
      `${VERDICT_ICON[state.verdict]} ${state.verdict.toUpperCase()}`,
      state.primary ? `\`${state.primary}\`` : null,
      uncovered ? `${uncovered} slots not served` : null,
      `checked ${ago(now - Date.parse(state.checkedAt))}`,
    ]
      .filter(Boolean)
      .join(', ');
    return `• ${name}: ${detail}${silenced}`;
  });
  const chunks: string[] = [];
  let current = '';
  for (const line of lines) {
    if (current && current.length + line.length + 1 > LIMITS.sectionText) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  chunks.push(current);
  return { text: `${config.clusters.length} clusters`, blocks: chunks.slice(0, LIMITS.blocksPerMessage).map((c) => section(c)) };
}

/** `:no_bell: silenced until <time> by @alice (db upgrade)` */
export function silenceLine(silence: Silence): string {
  const by = silence.source === 'maintenance' ? 'a maintenance window (config)' : mention(silence.by);
  const why = silence.reason ? ` (${escapeMrkdwn(silence.reason)})` : '';
  return `:no_bell: silenced until ${slackDate(silence.until)} by ${by}${why}`;
}

/** The answer to a silence command: what changed, or why nothing did. */
export function silenceMessage(text: string): MessageBody {
  return { text: fallbackText(text), blocks: [section(truncate(text, LIMITS.sectionText))] };
}

export function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

/** What a later asker gets while a diagnosis of the same cluster is running: a pointer to it. */
export function alreadyRunningMessage(
  running: { cluster: string; kind: 'diagnose' | 'audit'; askedBy: string; since: number; channel?: string; permalink?: string },
  now: number,
): MessageBody {
  const what = running.kind === 'audit' ? 'Prevention checks of' : 'A diagnosis of';
  // Only a link Slack gave us (chat.getPermalink) is shown as a link.
  const link = running.permalink && /^https:\/\/[^\s<>|]+$/.test(running.permalink) ? `<${running.permalink}|in this thread>` : null;
  const where = link ?? (running.channel ? `in <#${running.channel}>` : 'in its channel, in a moment');
  const text = `${what} *${escapeMrkdwn(running.cluster)}* is already running (asked by ${mention(running.askedBy)} ${ago(now - running.since)}). Its answer will be ${where}; nothing more was started.`;
  return {
    text: fallbackText(`${what} ${running.cluster} is already running; its answer will be in its thread`),
    blocks: [section(truncate(`:hourglass_flowing_sand: ${text}`, LIMITS.sectionText))],
  };
}

/**
 * The asker's answer while an incident is open for the cluster (issue 13 §3): the fresh diagnosis
 * goes in the incident's thread, not in a second root message.
 */
export function incidentThreadAnswer(input: {
  cluster: string;
  kind: 'diagnose' | 'audit';
  channel: string;
  permalink: string | null;
}): MessageBody {
  const what = input.kind === 'audit' ? 'prevention checks' : 'fresh diagnosis';
  const link = permalinkText(input.permalink);
  const where = link ? `: ${link}` : ` in <#${input.channel}>`;
  const text = `An incident is open for *${escapeMrkdwn(input.cluster)}*: your ${what} goes in the incident's thread, not in a new message${where}. Approve fixes from the incident's fix message there: it is the one place with buttons.`;
  return {
    text: fallbackText(`An incident is open for ${input.cluster}: the ${what} is in the incident's thread`),
    blocks: [section(truncate(`:rotating_light: ${text}`, LIMITS.sectionText))],
  };
}

/** The answer to a user over the per-user request limit. */
export function rateLimitedMessage(policy: { perUser: number; windowMs: number }, retryAfterMs: number): MessageBody {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const text = `Too many requests: at most ${policy.perUser} per ${Math.round(policy.windowMs / 1000)} s per person. Nothing was done; try again in ${seconds} s. A diagnosis you already asked for still answers in its thread.`;
  return { text: fallbackText(text), blocks: [section(`:no_entry: ${escapeMrkdwn(text)}`)] };
}

export function ago(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/** The modal of `/redis-diagnose paste`: one multiline input, checked on submit. */
export function pasteModal(privateMetadata: string): ModalView {
  return {
    type: 'modal',
    callback_id: VIEWS.paste,
    private_metadata: truncate(privateMetadata, LIMITS.privateMetadata),
    title: { type: 'plain_text', text: 'Analyse a paste' },
    submit: { type: 'plain_text', text: 'Analyse' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        'Paste `CLUSTER NODES` output (and `CLUSTER INFO` if you have it), redis-cli prompts included. redis-medic analyses the text only: it connects to nothing, so it cannot offer fixes to approve.',
      ),
      {
        type: 'input',
        block_id: PASTE_BLOCK,
        label: { type: 'plain_text', text: 'CLUSTER NODES output' },
        element: {
          type: 'plain_text_input',
          action_id: PASTE_INPUT,
          multiline: true,
          max_length: LIMITS.plainTextInput,
          placeholder: { type: 'plain_text', text: '127.0.0.1:7000> cluster nodes' },
        },
      },
    ],
  };
}

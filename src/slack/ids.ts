// Ids Slack sends back to us: a listener per id. Buttons in one block need distinct action ids,
// so buttons carry `<id>:<index>` and listeners match the prefix.
export const ACTIONS = {
  approve: 'redis_medic.approve',
  dryRun: 'redis_medic.dry_run',
  rediagnose: 'redis_medic.rediagnose',
} as const;

export const VIEWS = {
  paste: 'redis_medic.paste',
} as const;

export const PASTE_BLOCK = 'paste';
export const PASTE_INPUT = 'paste_text';

export const COMMAND = '/redis-diagnose';

/** Matches `<id>` and `<id>:<n>`. */
export function actionPattern(id: string): RegExp {
  return new RegExp(`^${id.replace(/\./g, '\\.')}(:\\d+)?$`);
}

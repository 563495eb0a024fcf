import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { SLACK_EVENTS_PATH } from '../../../src/slack/app';
import { COMMAND } from '../../../src/slack/ids';

describe('manifest.yml', () => {
  const manifest = YAML.parse(fs.readFileSync(path.join(__dirname, '../../../manifest.yml'), 'utf8')) as Record<string, any>;

  it('declares the slash command and interactivity on the endpoint the app serves', () => {
    const [command] = manifest.features.slash_commands as Array<Record<string, unknown>>;
    assert.equal(command!.command, COMMAND);
    assert.equal(command!.url, `https://YOUR-HOST${SLACK_EVENTS_PATH}`);
    assert.ok(String(command!.usage_hint).includes('audit <cluster>'));
    assert.equal(manifest.settings.interactivity.is_enabled, true);
    assert.equal(manifest.settings.interactivity.request_url, `https://YOUR-HOST${SLACK_EVENTS_PATH}`);
    assert.equal(manifest.settings.socket_mode_enabled, false);
  });

  it('asks for exactly the scopes the app uses', () => {
    assert.deepEqual([...manifest.oauth_config.scopes.bot].sort(), [
      'channels:history',
      'chat:write',
      'commands',
      'groups:history',
      'usergroups:read',
    ]);
    assert.equal(manifest.oauth_config.scopes.user, undefined);
  });
});

// The running Slack app over HTTP: signatures, the replay guard, the command grammar, refusals
// of unknown clusters and typed addresses, and the paste modal. Requests are signed exactly as
// Slack signs them; Web API calls land in the fake Slack.
import assert from 'node:assert/strict';
import net from 'node:net';
import { eventually, freePort } from '../../helpers/cluster';
import { buttonClick, interaction, send, slashCommand } from '../../helpers/slack-requests';
import { responses, SIGNING_SECRET, startHarness, waitForAudit, type Harness } from './support';

describe('slack app over HTTP', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const command = (text: string, fields: Record<string, string> = {}, options = {}) =>
    slashCommand(h.url, SIGNING_SECRET, { text, response_url: `${h.fake.responseUrlBase}cmd`, ...fields }, options);

  describe('request authenticity', () => {
    it('answers 401 to a wrong signature, and nothing runs', async () => {
      const res = await send(command('payments', {}, { signature: `v0=${'a'.repeat(64)}` }));
      assert.equal(res.status, 401);
      const unsigned = await send(command('payments', {}, { signature: null }));
      assert.equal(unsigned.status, 401);
      assert.equal(h.enqueuer.diagnoses.length, 0);
      assert.equal(h.fake.callsTo('chat.postMessage').length, 0);
    });

    it('answers 401 to a request older than 5 minutes', async () => {
      const res = await send(command('payments', {}, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }));
      assert.equal(res.status, 401);
      assert.equal(h.enqueuer.diagnoses.length, 0);
    });

    it('refuses a replay of the same signed request (Bolt would process it twice)', async () => {
      const post = command('payments');
      const first = await send(post);
      assert.equal(first.status, 200);
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the first diagnosis to be queued', timeoutMs: 5000 });
      const replay = await send(post);
      assert.equal(replay.status, 401);
      const rejected = await waitForAudit(h, 'request.rejected', (r) => r.details?.reason === 'replayed request');
      assert.equal(rejected.actor, 'U0ASKER');
      assert.equal(h.enqueuer.diagnoses.length, 1);
      assert.equal(h.fake.callsTo('chat.postMessage').length, 1);
    });

    it('refuses a request dated in the future', async () => {
      const res = await send(command('payments', {}, { timestamp: Math.floor(Date.now() / 1000) + 10 * 60 }));
      assert.equal(res.status, 401);
      // Refused from its headers, before its body is read: nothing says Slack sent it, so it is
      // logged, not audited.
      assert.equal(h.enqueuer.diagnoses.length, 0);
      assert.equal(h.fake.calls.filter((c) => c.method !== 'auth.test').length, 0);
    });

    it('refuses an interaction replay too (the same click twice runs once)', async () => {
      const post = interaction(
        h.url,
        SIGNING_SECRET,
        buttonClick({
          actionId: 'redis_medic.rediagnose',
          value: 'not-ours',
          userId: 'U0X',
          responseUrl: `${h.fake.responseUrlBase}click`,
        }),
      );
      const [a, b] = await Promise.all([send(post), send(post)]);
      assert.deepEqual(
        [a.status, b.status].sort((x, y) => x - y),
        [200, 401],
      );
      await h.fake.waitFor('response_url/response/click');
      await waitForAudit(h, 'request.rejected', (r) => r.actor === 'U0X');
      assert.equal(responses(h).length, 1);
    });

    it('serves other routes and 404s unknown paths', async () => {
      const res = await fetch(`${h.baseUrl}/nope`);
      assert.equal(res.status, 404);
    });
  });

  describe('/redis-diagnose <cluster>', () => {
    it('acks at once with an ephemeral note, posts the root message in the cluster channel and queues a diagnosis', async () => {
      const res = await send(command('payments'));
      assert.equal(res.status, 200);
      const ack = JSON.parse(res.body) as { response_type: string; text: string; blocks: Array<{ text: { text: string } }> };
      assert.equal(ack.response_type, 'ephemeral');
      assert.match(ack.blocks[0]!.text.text, /Diagnosing \*payments\*/);
      assert.match(ack.blocks[0]!.text.text, /<#C0PAYMENTS>/);
      const root = await h.fake.waitFor('chat.postMessage');
      assert.equal(root.params.channel, 'C0PAYMENTS');
      assert.match(root.params.blocks[0].text.text, /Diagnosing \*payments\*: asking 2 seed nodes/);
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the diagnosis to be queued', timeoutMs: 5000 });
      const job = h.enqueuer.diagnoses[0]!;
      assert.equal(job.cluster, 'payments');
      assert.deepEqual(job.origin, {
        kind: 'slack',
        channel: 'C0PAYMENTS',
        user: 'U0ASKER',
        messageTs: root.response!.ts,
        responseUrl: `${h.fake.responseUrlBase}cmd`,
      });
      assert.equal(await h.jobs.queues.diagnose.count(), 1);
      await waitForAudit(h, 'diagnosis.requested', (r) => r.cluster === 'payments' && r.actor === 'U0ASKER');
    });

    it('answers in the invoking channel for a cluster without a channel', async () => {
      await send(command('cache', { channel_id: 'C0HERE' }));
      const root = await h.fake.waitFor('chat.postMessage');
      assert.equal(root.params.channel, 'C0HERE');
    });

    it('accepts a typed address only when it is a configured seed, and diagnoses that cluster', async () => {
      const res = await send(command('127.0.0.1:7002'));
      assert.match(res.body, /127\.0\.0\.1:7002 is a node of payments/);
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the diagnosis to be queued', timeoutMs: 5000 });
      assert.equal(h.enqueuer.diagnoses[0]!.cluster, 'payments');
    });

    it('refuses an unknown cluster with the known names, and queues nothing', async () => {
      const res = await send(command('orders'));
      const ack = JSON.parse(res.body) as { response_type: string; text: string };
      assert.equal(ack.response_type, 'ephemeral');
      assert.match(ack.text, /unknown cluster "orders"\. Known clusters: payments, cache/);
      await waitForAudit(h, 'request.rejected', (r) => r.details?.typed === 'orders');
      assert.equal(h.enqueuer.diagnoses.length, 0);
      assert.equal(h.fake.callsTo('chat.postMessage').length, 0);
    });

    it('never connects to an address a user typed, even with workers running', async () => {
      await h.jobs.startWorkers({ queues: ['diagnose'] });
      const port = await freePort();
      const connections: string[] = [];
      const trap = net.createServer((socket) => {
        connections.push(String(socket.remoteAddress));
        socket.destroy();
      });
      await new Promise<void>((resolve) => trap.listen(port, '127.0.0.1', resolve));
      try {
        const res = await send(command(`127.0.0.1:${port}`));
        const ack = JSON.parse(res.body) as { text: string };
        assert.match(ack.text, new RegExp(`127\\.0\\.0\\.1:${port} is not a node of any configured cluster`));
        // The refusal's audit entry is the last thing the handler does.
        await waitForAudit(h, 'request.rejected', (r) => r.details?.typed === `127.0.0.1:${port}`);
        assert.equal(h.enqueuer.diagnoses.length, 0);
        assert.equal(await h.jobs.queues.diagnose.count(), 0);
        assert.deepEqual(connections, []);
      } finally {
        await new Promise((resolve) => trap.close(resolve));
      }
    });

    it('tells the user when it cannot post in the channel, and queues nothing', async () => {
      h.fake.failNext('chat.postMessage', 'not_in_channel');
      await send(command('cache', { channel_id: 'C0PRIVATE' }));
      const reply = await h.fake.waitFor('response_url/response/cmd');
      assert.match(JSON.stringify(reply.params.blocks), /could not post in <#C0PRIVATE> \(not_in_channel\)/);
      assert.equal(h.enqueuer.diagnoses.length, 0);
    });
  });

  describe('other subcommands', () => {
    it('help, and a usage error for extra words', async () => {
      const help = JSON.parse((await send(command('help'))).body) as { blocks: Array<{ text: { text: string } }> };
      assert.match(help.blocks[0]!.text.text, /list/);
      assert.match(help.blocks[0]!.text.text, /Clusters: `payments`, `cache`/);
      const usage = JSON.parse((await send(command('payments cache'))).body) as { text: string };
      assert.match(usage.text, /One cluster at a time/);
      const noArg = JSON.parse((await send(command(''))).body) as { blocks: Array<{ text: { text: string } }> };
      assert.match(noArg.blocks[0]!.text.text, /\/redis-diagnose <cluster>/);
      assert.equal(h.enqueuer.diagnoses.length, 0);
    });

    it('list: the clusters and their last published state', async () => {
      await h.redis.hset(
        `${h.prefix}:slack:last-state`,
        'payments',
        JSON.stringify({ verdict: 'down', primary: 'MASTER_DOWN_NO_REPLICA', checkedAt: new Date().toISOString(), uncovered: [[0, 99]] }),
      );
      const res = await send(command('list'));
      assert.equal(res.status, 200);
      const reply = await h.fake.waitFor('response_url/response/cmd');
      assert.equal(reply.params.response_type, 'ephemeral');
      const text = JSON.stringify(reply.params.blocks);
      assert.match(text, /\*payments\*.*DOWN.*MASTER_DOWN_NO_REPLICA.*100 slots not served/);
      assert.match(text, /\*cache\*.*never diagnosed/);
    });

    it('audit <cluster>: queues a diagnosis marked as prevention checks', async () => {
      await send(command('audit payments'));
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the diagnosis to be queued', timeoutMs: 5000 });
      const root = h.fake.callsTo('chat.postMessage')[0]!;
      const stored = await h.redis.get(`${h.prefix}:slack:request:C0PAYMENTS:${root.response!.ts}`);
      assert.deepEqual(JSON.parse(stored!), { kind: 'audit', requestedBy: 'U0ASKER' });
    });

    it('with one cluster configured, no argument diagnoses it', async () => {
      await h.close();
      h = await startHarness({ clusters: [{ name: 'solo', seeds: ['127.0.0.1:7201'] }] });
      await send(command(''));
      await eventually(() => h.enqueuer.diagnoses.length === 1, { what: 'the diagnosis to be queued', timeoutMs: 5000 });
      assert.equal(h.enqueuer.diagnoses[0]!.cluster, 'solo');
    });
  });

  describe('paste (offline analysis)', () => {
    const submit = (text: string, user = 'U0ASKER') =>
      interaction(h.url, SIGNING_SECRET, {
        type: 'view_submission',
        team: { id: 'T0FAKE' },
        user: { id: user, team_id: 'T0FAKE' },
        api_app_id: 'A0APP',
        view: {
          id: 'V1',
          type: 'modal',
          callback_id: 'redis_medic.paste',
          private_metadata: JSON.stringify({ channel: 'C0HERE', user }),
          state: { values: { paste: { paste_text: { type: 'plain_text_input', value: text } } } },
        },
      });

    it('opens a modal with a multiline input', async () => {
      await send(command('paste', { trigger_id: 'trigger-123' }));
      const open = await h.fake.waitFor('views.open');
      assert.equal(open.params.trigger_id, 'trigger-123');
      const input = open.params.view.blocks.find((b: { type: string }) => b.type === 'input');
      assert.equal(input.element.multiline, true);
    });

    it('a malformed paste keeps the modal open with the parse error, and posts nothing', async () => {
      const res = await send(submit('hello world'));
      assert.equal(res.status, 200);
      const body = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
      assert.equal(body.response_action, 'errors');
      assert.match(body.errors.paste!, /line 1: not a CLUSTER NODES or CLUSTER INFO line/);
      assert.equal(h.fake.callsTo('chat.postMessage').length, 0);
    });

    it('a valid paste is analysed offline and posted without approve buttons', async () => {
      const paste = [
        '90668156f0a3e30e8e6e0e0b7a5aac4ab3b4c001 127.0.0.1:31000@41000 myself,master - 0 1795635607000 1 connected 0-5460',
        'f6f3fbdb4a1fa0e2e9d0c3b0d2b8cd6f4c2b3002 127.0.0.1:31001@41001 master - 0 1795635608352 2 connected 5461-10922',
        '9c08efc5691663bc003f5e082c93f290d11dff2a 127.0.0.1:31002@41002 master,fail - 1795635608343 1795635607841 3 disconnected 10923-16383',
      ].join('\n');
      const res = await send(submit(paste));
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
      await eventually(() => h.fake.callsTo('chat.postMessage').some((c) => /Offline analysis/.test(JSON.stringify(c.params.blocks))), {
        what: 'the offline note',
        timeoutMs: 5000,
      });
      const posts = h.fake.callsTo('chat.postMessage');
      assert.equal(posts[0]!.params.channel, 'C0HERE');
      assert.match(posts[0]!.params.blocks[0].text.text, /pasted: DOWN \(offline analysis of a paste\)/);
      assert.equal(posts.flatMap((c) => (c.params.blocks as Array<{ type: string }>).filter((b) => b.type === 'actions')).length, 0);
      assert.equal(h.enqueuer.diagnoses.length, 0);
      assert.equal(responses(h).length, 0);
    });
  });
});

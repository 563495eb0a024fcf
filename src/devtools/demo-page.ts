// The static parts of the demo's local channel page: served as three files so the page can
// run under a strict Content-Security-Policy (no inline script or style), which is one more
// wall between a hostile cluster's data and the browser, behind the escaping.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>#redis-incidents · redis-medic demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<aside id="sidebar">
  <h1>redis-medic demo</h1>
  <p class="muted">A local stand-in for Slack. The bot is the real product (<code>redis-medic start</code>) against a throwaway Redis Cluster on loopback.</p>
  <h2>Cluster</h2>
  <div id="cluster"></div>
  <button type="button" id="break" class="bk-button bk-danger">Break the cluster (kill a master)</button>
  <h2>You are</h2>
  <select id="user">
    <option value="U0ONCALL">U0ONCALL, the on-call approver</option>
    <option value="U0ASKER">U0ASKER, not an approver</option>
  </select>
  <p id="status" role="status" class="muted"></p>
</aside>
<main>
  <header id="channel-head"># redis-incidents</header>
  <div id="channel" aria-live="polite"><p class="muted">Connecting…</p></div>
  <form id="composer" autocomplete="off">
    <input id="message" name="text" placeholder="Type /redis-diagnose demo" aria-label="Message #redis-incidents">
    <button type="submit" class="bk-button bk-primary">Send</button>
  </form>
</main>
<dialog id="confirm"></dialog>
</body>
</html>
`;

export const PAGE_CSS = `
* { box-sizing: border-box; }
body { margin: 0; display: flex; height: 100vh; font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1d1c1d; }
#sidebar { width: 290px; background: #3f0e40; color: #f4ede4; padding: 16px; overflow-y: auto; }
#sidebar h1 { font-size: 18px; margin: 0 0 8px; }
#sidebar h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; margin: 18px 0 6px; opacity: .8; }
#sidebar .muted { color: #cfc3cf; }
#sidebar code { color: #fff; background: none; }
#sidebar select { width: 100%; padding: 4px; }
#cluster ul { list-style: none; padding: 0; margin: 0 0 10px; font: 12px/1.6 ui-monospace, Menlo, monospace; }
#cluster .dead { color: #ff8a8a; text-decoration: line-through; }
main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
#channel-head { padding: 12px 20px; border-bottom: 1px solid #ddd; font-weight: 700; }
#channel { flex: 1; overflow-y: auto; padding: 12px 20px; }
#composer { display: flex; gap: 8px; padding: 12px 20px; border-top: 1px solid #ddd; }
#composer input { flex: 1; padding: 10px; font: inherit; border: 1px solid #bbb; border-radius: 6px; }
.muted { color: #616061; }
.msg { padding: 8px 0; border-bottom: 1px solid #f0f0f0; }
.msg-head { font-size: 13px; color: #616061; }
.msg-head b { color: #1d1c1d; }
.app { font-size: 10px; background: #ddd; border-radius: 3px; padding: 0 3px; margin: 0 4px; }
.ephemeral { background: #f8f8f8; border-left: 3px solid #aaa; padding-left: 8px; }
.thread { margin: 6px 0 0 18px; padding-left: 12px; border-left: 3px solid #e0e0e0; }
.thread > .msg { border-bottom: none; }
.thread-label { font-size: 12px; color: #1264a3; font-weight: 700; }
.bk-header { font-weight: 700; font-size: 17px; margin: 4px 0; }
.bk-text { white-space: normal; overflow-wrap: anywhere; }
.bk-section { display: flex; gap: 12px; align-items: flex-start; margin: 4px 0; }
.bk-section > .bk-text { flex: 1; }
.bk-fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin-top: 4px; }
.bk-context { font-size: 12px; color: #616061; margin: 4px 0; }
.bk-actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }
.bk-divider { border: none; border-top: 1px solid #e0e0e0; }
.bk-unsupported { color: #999; font-style: italic; }
.bk-button { font: inherit; font-size: 14px; padding: 5px 12px; border-radius: 4px; border: 1px solid #bbb; background: #fff; cursor: pointer; }
.bk-button:disabled { opacity: .5; cursor: default; }
.bk-primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.bk-danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
#sidebar #break { margin-top: 4px; width: 100%; }
pre { background: #f6f6f6; border: 1px solid #e0e0e0; border-radius: 4px; padding: 8px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
code { font-family: ui-monospace, Menlo, monospace; font-size: 12px; background: #f6f6f6; color: #c01343; padding: 0 2px; }
pre code { background: none; color: inherit; padding: 0; }
blockquote { margin: 0; padding-left: 8px; border-left: 3px solid #ddd; }
dialog { max-width: 560px; border: none; border-radius: 8px; box-shadow: 0 8px 40px rgba(0,0,0,.35); padding: 20px; }
dialog::backdrop { background: rgba(0,0,0,.4); }
.bk-dialog-title { margin: 0 0 10px; font-size: 18px; }
.bk-dialog-text { white-space: pre-wrap; font-size: 14px; }
.bk-dialog-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
`;

// Plain browser JavaScript. It only ever inserts HTML that the server rendered and escaped,
// and sets everything else (status lines) as text.
export const PAGE_JS = `'use strict';
(function () {
  const $ = (s) => document.querySelector(s);
  const channel = $('#channel');
  const status = $('#status');
  const dialog = $('#confirm');
  const say = (text) => { status.textContent = text; };

  async function post(path, body) {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({ message: 'HTTP ' + res.status }));
    say(answer.message || '');
    return answer;
  }

  function render(state) {
    const atBottom = channel.scrollTop + channel.clientHeight >= channel.scrollHeight - 60;
    channel.innerHTML = state.channelHtml;
    $('#cluster').innerHTML = state.clusterHtml;
    if (atBottom) channel.scrollTop = channel.scrollHeight;
    document.body.dataset.version = String(state.version);
  }

  const events = new EventSource('/events');
  events.onmessage = (e) => render(JSON.parse(e.data));
  events.onerror = () => say('Lost the connection to the demo; retrying (is it still running?)');

  $('#composer').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#message');
    const text = input.value.trim();
    if (!text) return;
    const answer = await post('/command', { text, user: $('#user').value });
    if (answer.ok) input.value = '';
  });

  $('#break').addEventListener('click', async (e) => {
    e.target.disabled = true;
    say('Breaking the cluster…');
    try { await post('/break', {}); } finally { e.target.disabled = false; }
  });

  function confirmFirst(id) {
    const template = Array.from(document.querySelectorAll('template[data-confirm-for]')).find((t) => t.dataset.confirmFor === id);
    if (!template) return Promise.resolve(true);
    dialog.replaceChildren(template.content.cloneNode(true));
    return new Promise((resolve) => {
      dialog.querySelector('[data-confirm]').addEventListener('click', () => { dialog.close(); resolve(true); });
      dialog.querySelector('[data-deny]').addEventListener('click', () => { dialog.close(); resolve(false); });
      dialog.addEventListener('cancel', () => resolve(false), { once: true });
      dialog.showModal();
    });
  }

  channel.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-button]');
    if (!button) return;
    const id = button.dataset.button;
    if (button.dataset.hasConfirm && !(await confirmFirst(id))) { say('Cancelled: nothing was sent.'); return; }
    button.disabled = true;
    await post('/click', { button: id, user: $('#user').value });
  });
})();
`;

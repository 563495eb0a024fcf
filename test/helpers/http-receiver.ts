// A local HTTP receiver that records every request it got (method, path, headers, JSON body) and
// answers as a test scripts it: a status per request, or no answer at all (a timeout), so pagers
// are tested against real HTTP, their retries included.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** What the receiver answered: a status, or 'hung' (never answered). */
  answered: number | 'hung';
}

/** How to answer one request: a status (with an optional body), or 'hang' (answer never). */
export type Answer = number | { status: number; body: string } | 'hang';

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answers for the next requests to `path` that match `when` (in order); then the default. */
  script(path: string, answers: Answer[], when?: (body: unknown) => boolean): void;
  /** Resolves when `predicate` holds over the requests, else rejects after timeoutMs naming `what`. */
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpReceiver(defaultStatus = 202): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const scripts: Array<{ path: string; answers: Answer[]; when: (body: unknown) => boolean }> = [];
  const hung = new Set<http.ServerResponse>();
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      const path = req.url ?? '/';
      const script = scripts.find((s) => s.path === path && s.answers.length > 0 && s.when(body));
      const answer: Answer = script ? script.answers.shift()! : defaultStatus;
      const entry: ReceivedRequest = { method: req.method ?? '', path, headers: req.headers, body, answered: 'hung' };
      if (answer === 'hang') hung.add(res);
      else {
        const status = typeof answer === 'number' ? answer : answer.status;
        entry.answered = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof answer === 'number' ? JSON.stringify({ status: status < 300 ? 'success' : 'error' }) : answer.body);
      }
      requests.push(entry);
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(path, answers, when = () => true) {
      scripts.push({ path, answers: [...answers], when });
    },
    waitFor(predicate, what, timeoutMs = 20_000) {
      if (predicate(requests)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(requests.map((r) => [r.path, r.answered]))}`,
            ),
          );
        }, timeoutMs);
        const check = (): void => {
          if (!predicate(requests)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// deploy/kubernetes rendered by `kubectl kustomize` (Debian's kubectl; .ci/run installs it) and
// every object validated offline against the Kubernetes (and Prometheus Operator) schemas of
// the kubernetes-models packages; then the wiring between the objects, and the compiled `start`
// the image runs, serving the probes the manifests point at.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { parseConfig } from '../../../src/config/load';
import { freePort } from '../../../src/devtools/local-cluster';
import { trackProcess } from '../../../src/devtools/processes';
import { deleteQueueKeys } from '../../helpers/queue-redis';

const ROOT = path.join(__dirname, '../../..');
const KUSTOMIZE = path.join(ROOT, 'deploy/kubernetes');
const BIN = path.join(ROOT, 'bin/redis-medic');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
}

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', path.join(KUSTOMIZE, dir)], { maxBuffer: 10 * 1024 * 1024 });
  return YAML.parseAllDocuments(stdout)
    .map((d) => d.toJSON() as K8sObject)
    .filter(Boolean);
}

/** The kubernetes-models class for an object (ESM-only packages, so loaded with import()). */
async function modelFor(obj: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
  const pkg = group === 'monitoring.coreos.com' ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const specifier = `${pkg}/${group ? `${group}/` : ''}${version}`;
  const models = (await import(specifier)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = models[obj.kind];
  assert.ok(model, `no schema for ${obj.apiVersion} ${obj.kind}`);
  return model;
}

async function validateAll(objects: K8sObject[]): Promise<void> {
  for (const obj of objects) {
    const Model = await modelFor(obj);
    try {
      new Model(obj).validate();
    } catch (err) {
      assert.fail(`${obj.kind}/${obj.metadata.name} does not match the Kubernetes schema: ${(err as Error).message}`);
    }
  }
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(obj, `${kind}/${name} is rendered (${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`);
  return obj;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/kubernetes (kustomize, validated offline)', function () {
  this.timeout(60_000);
  let base: K8sObject[];
  let withWorker: K8sObject[];

  before(async () => {
    [base, withWorker] = await Promise.all([render('base'), render('overlays/with-worker')]);
  });

  it('every rendered object, and the Secret example, match their schemas', async () => {
    await validateAll(base);
    await validateAll(withWorker);
    const example = YAML.parse(fs.readFileSync(path.join(KUSTOMIZE, 'base/secret.example.yaml'), 'utf8')) as K8sObject;
    await validateAll([example]);
    // The schema check has teeth: a port given as text is refused.
    const broken = structuredClone(find(base, 'Deployment', 'redis-medic'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
    await assert.rejects(validateAll([broken]), /containerPort/);
  });

  it('the base: `start` with 2 replicas, Service, ConfigMap, PodDisruptionBudget, NetworkPolicy, ServiceMonitor, all in one namespace', () => {
    const kinds = base.map((o) => o.kind).sort();
    for (const kind of [
      'ConfigMap',
      'Deployment',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ])
      assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(', ')}`);
    const start = find(base, 'Deployment', 'redis-medic');
    assert.equal(start.spec.replicas, 2);
    assert.deepEqual(start.spec.template.spec.containers[0].args, ['start']);
    for (const obj of base.filter((o) => o.kind !== 'Namespace'))
      assert.equal(obj.metadata.namespace, 'redis-medic', `${obj.kind}/${obj.metadata.name}`);
  });

  it('liveness and readiness probes on separate endpoints of the internal port, apart from the Slack port', () => {
    for (const [objects, name] of [
      [base, 'redis-medic'],
      [withWorker, 'redis-medic-worker'],
    ] as const) {
      const container = find(objects, 'Deployment', name).spec.template.spec.containers[0];
      const ports = Object.fromEntries(
        (container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]),
      );
      assert.equal(container.livenessProbe.httpGet.path, '/livez');
      assert.equal(container.readinessProbe.httpGet.path, '/readyz');
      assert.equal(container.livenessProbe.httpGet.port, 'internal');
      assert.equal(container.readinessProbe.httpGet.port, 'internal');
      assert.equal(ports.internal, 9464);
      if (name === 'redis-medic') assert.equal(ports.slack, 3000);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(find(objects, 'Deployment', name).spec.template.spec.securityContext.runAsNonRoot, true);
    }
  });

  it('Services, the PodDisruptionBudget and the ServiceMonitor select what they mean to', () => {
    const startPods = find(base, 'Deployment', 'redis-medic').spec.template.metadata.labels as Record<string, string>;
    assert.ok(matches(find(base, 'Service', 'redis-medic').spec.selector, startPods));
    assert.ok(matches(find(base, 'Service', 'redis-medic-internal').spec.selector, startPods));
    assert.ok(matches(find(base, 'PodDisruptionBudget', 'redis-medic').spec.selector.matchLabels, startPods));
    assert.ok(matches(find(base, 'NetworkPolicy', 'redis-medic').spec.podSelector.matchLabels, startPods));
    const internal = find(base, 'Service', 'redis-medic-internal');
    const monitor = find(base, 'ServiceMonitor', 'redis-medic');
    assert.ok(matches(monitor.spec.selector.matchLabels, internal.metadata.labels), 'the ServiceMonitor selects the internal Service');
    assert.ok(!matches(monitor.spec.selector.matchLabels, find(base, 'Service', 'redis-medic').metadata.labels), 'and not the Slack one');
    assert.equal(monitor.spec.endpoints[0].port, internal.spec.ports[0].name);
    assert.equal(monitor.spec.endpoints[0].path, '/metrics');
    // The worker pods are behind the internal Service too (their metrics are scraped).
    const workerPods = find(withWorker, 'Deployment', 'redis-medic-worker').spec.template.metadata.labels as Record<string, string>;
    assert.ok(matches(find(withWorker, 'Service', 'redis-medic-internal').spec.selector, workerPods));
    assert.ok(!matches(find(withWorker, 'Service', 'redis-medic').spec.selector, workerPods), 'Slack traffic never goes to a worker');
  });

  it('the ConfigMap and Secret the pods mount exist, and the config passes `config check`', () => {
    const start = find(base, 'Deployment', 'redis-medic').spec.template.spec;
    const configMapName = start.volumes.find((v: { name: string }) => v.name === 'config').configMap.name as string;
    const configMap = find(base, 'ConfigMap', configMapName);
    const text = configMap.data!['config.yml']!;
    const secret = YAML.parse(fs.readFileSync(path.join(KUSTOMIZE, 'base/secret.example.yaml'), 'utf8')) as {
      metadata: { name: string };
      stringData: Record<string, string>;
    };
    assert.equal(start.containers[0].envFrom[0].secretRef.name, secret.metadata.name);
    // Every ${VAR} of the config is a key of the Secret.
    const values = text
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    const vars = [...values.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
    for (const v of vars) assert.ok(v in secret.stringData, `${v} is in the Secret example`);
    const expanded = text.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, v: string) => secret.stringData[v]!);
    const config = parseConfig(YAML.parse(expanded));
    assert.equal(config.http.internalPort, 9464);
    assert.equal(config.http.port, 3000);
  });
});

describe('the image command: compiled `start` with the container environment', function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let dir: string;
  const prefix = `test-${crypto.randomUUID()}`;
  const output: string[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-medic-image-'));
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteQueueKeys(prefix);
  });

  it('serves /livez, /readyz and /metrics on INTERNAL_PORT only; the HEALTHCHECK command passes; SIGTERM → exit 0', async () => {
    const [port, internalPort] = [await freePort(), await freePort()];
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(config, 'monitor:\n  enabled: false\n');
    child = spawn(process.execPath, [BIN, 'start'], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        INTERNAL_PORT: String(internalPort),
        REDIS_MEDIC_CONFIG: config,
        QUEUE_PREFIX: prefix,
        REDIS_URL: 'redis://127.0.0.1:6379',
        SLACK_BOT_TOKEN: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackProcess(child);
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const internal = `http://127.0.0.1:${internalPort}`;
    await waitFor(
      async () => (await fetch(`${internal}/readyz`)).status === 200,
      20_000,
      () => output.join(''),
    );
    assert.equal((await fetch(`${internal}/livez`)).status, 200);
    const metrics = await fetch(`${internal}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /redis_medic_/);
    // The main port has /alerts, but neither probes nor metrics.
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/livez`)).status, 404);

    // The Dockerfile's HEALTHCHECK, run as written.
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const check = /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/.exec(dockerfile);
    assert.ok(check, 'the Dockerfile has a HEALTHCHECK in exec form');
    const [cmd, ...args] = JSON.parse(check[1]!) as string[];
    assert.equal(cmd, 'node');
    await promisify(execFile)(process.execPath, args, { env: { ...process.env, INTERNAL_PORT: String(internalPort) } });

    const code = await new Promise<number | null>((resolve) => {
      child!.once('exit', resolve);
      child!.kill('SIGTERM');
    });
    assert.equal(code, 0, output.join('').slice(-2000));
  });

  it('the Dockerfile: multi-stage, a supported Node LTS, non-root, tini, HEALTHCHECK, runtime with dist/ and production dependencies only', () => {
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const image = /ARG NODE_IMAGE=node:(\d+)/.exec(text);
    assert.ok(image && ['22', '24'].includes(image[1]!), `a supported LTS base (node 22 or 24), got ${image?.[0]}`);
    const stages = text.split(/^FROM /m).slice(1);
    assert.equal(stages.length, 2, 'build and runtime stages');
    const runtime = stages[1]!;
    assert.match(runtime, /npm ci --omit=dev/);
    assert.match(runtime, /COPY --from=build \/build\/dist \.\/dist/);
    assert.doesNotMatch(runtime, /COPY (src|test|bench)\b/);
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /ENTRYPOINT \["tini", "--"/);
    assert.match(runtime, /^HEALTHCHECK /m);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${last})\n${logs().slice(-2000)}`);
}

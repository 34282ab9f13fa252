// examples/deploy/: the Dockerfile, the netbox-docker compose override and the netbox-chart
// manifests parse, and agree with each other and with the gateway config they carry: ports,
// paths, probe URLs, labels, secrets, image versions. The gateway configs pass `check`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '../../../src/config/schema.js';
import { makeTempDirSync } from '../../support/temp.js';

const root = process.cwd();
const deploy = join(root, 'examples', 'deploy');
const bin = join(root, 'bin', 'netbox-gate.js');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = makeTempDirSync('netbox-gate-deploy-');
after(() => tmp.remove());

// Manifests are free-form documents; the assertions are the type check.
type Obj = Record<string, any>;

const read = (...p: string[]) => readFileSync(join(deploy, ...p), 'utf8');
function docs(text: string, file: string): Obj[] {
  const all = parseAllDocuments(text);
  const list = Array.isArray(all) ? all : [all];
  for (const d of list) assert.deepEqual(d.errors.map((e) => e.message), [], file);
  return list.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}
const portOf = (hostPort: string) => Number(/:(\d+)$/.exec(hostPort)![1]);

/** Runs `check` on a gateway config, with placeholders for the ${file:} secrets it reads. */
function check(yamlText: string, name: string): { status: number | null; out: string } {
  const file = join(tmp.path, name);
  // A valid 32-byte key where one is expected (sessions.encryptionKeys); a placeholder elsewhere.
  const text = yamlText.replace(/\$\{file:([^}]+)\}/g, (_m, p: string) => (/session-key/.test(p) ? 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=' : 'placeholder-secret'));
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [bin, 'check', '--config', file], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('examples/deploy/Dockerfile', () => {
  const text = read('Dockerfile');
  it('installs the package npm pack makes, at this version, and serves the config path the deployments mount', () => {
    assert.match(text, new RegExp(`^ARG VERSION=${version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(text, /npm install -g --omit=dev [^\n]*\/tmp\/netbox-gate-\$\{VERSION\}\.tgz/);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^EXPOSE 8080 9464$/m);
    assert.match(text, /^CMD \["serve", "--config", "\/etc\/netbox-gate\/netbox-gate\.yaml"\]$/m);
  });
});

describe('examples/deploy/docker-compose (netbox-docker)', () => {
  const compose = parse(read('docker-compose', 'docker-compose.override.yml')) as Obj;
  const gwText = read('docker-compose', 'netbox-gate.yaml');
  const gw = parse(gwText) as Obj;
  const svc = compose.services['netbox-gate'] as Obj;

  it('publishes no NetBox port; NetBox gets the env file netbox-config writes', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['netbox', 'netbox-gate']);
    assert.equal(compose.services.netbox.ports, undefined);
    assert.ok(compose.services.netbox.env_file.includes('env/netbox-gate.env'));
    assert.ok(compose.services.netbox.env_file.includes('env/netbox.env'), "netbox-docker's own env file stays");
  });

  it('the gateway publishes its listen port only, and reaches NetBox on the compose network', () => {
    assert.deepEqual(svc.ports, [`8000:${portOf(gw.server.listen)}`]);
    assert.equal(gw.server.listen, '0.0.0.0:8080');
    assert.equal(gw.netbox.url, 'http://netbox:8080');
    assert.equal(svc.depends_on.netbox.condition, 'service_healthy');
    assert.equal(svc.image, `netbox-gate:${version}`);
  });

  it('mounts the config where the command reads it, and every ${file:} secret is a compose secret', () => {
    const configPath = svc.command[svc.command.indexOf('--config') + 1] as string;
    assert.ok(svc.volumes.includes(`./netbox-gate/netbox-gate.yaml:${configPath}:ro`));
    const wanted = [...gwText.matchAll(/\$\{file:\/run\/secrets\/([^}]+)\}/g)].map((m) => m[1]!);
    assert.ok(wanted.length > 0);
    for (const s of wanted) {
      assert.ok(svc.secrets.includes(s), `${s} not given to the service`);
      assert.ok(compose.secrets[s]?.file, `${s} not defined`);
    }
    assert.ok(!/\$\{file:(?!\/run\/secrets\/)/.test(gwText), 'every secret comes from /run/secrets');
  });

  it('health check, read-only root, no capabilities', () => {
    assert.ok(svc.healthcheck.test.join(' ').includes(`http://127.0.0.1:${portOf(gw.server.listen)}/.netbox-gate/health`));
    assert.equal(svc.read_only, true);
    assert.deepEqual(svc.cap_drop, ['ALL']);
  });

  it('its gateway config passes check', () => {
    const r = check(gwText, 'compose.yaml');
    assert.equal(r.status, 0, r.out);
  });
});

describe('examples/deploy/kubernetes (netbox-chart)', () => {
  const kustomization = parse(read('kubernetes', 'kustomization.yaml')) as Obj;
  const objects = (kustomization.resources as string[]).flatMap((f) => {
    assert.ok(existsSync(join(deploy, 'kubernetes', f)), `${f} is listed but missing`);
    return docs(read('kubernetes', f), f);
  });
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
    assert.ok(o, `no ${kind} ${name}`);
    return o;
  };
  const deployment = find('Deployment', 'netbox-gate');
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0] as Obj;
  const configMap = find('ConfigMap', 'netbox-gate');
  const gwText = configMap.data['netbox-gate.yaml'] as string;
  const gw = parse(gwText) as Obj;
  const containerPort = (name: string) => (container.ports as Obj[]).find((p) => p.name === name)!.containerPort as number;

  it('every object has apiVersion, kind and a name', () => {
    assert.equal(objects.length, 9);
    for (const o of objects) assert.ok(o.apiVersion && o.kind && o.metadata?.name, JSON.stringify(o).slice(0, 100));
  });

  it('runs several replicas of this version, with the config mounted where args read it', () => {
    assert.ok(deployment.spec.replicas >= 2);
    assert.equal(container.image, `registry.example.org/netbox-gate:${version}`);
    const configPath = container.args[container.args.indexOf('--config') + 1] as string;
    const mount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === configPath)!;
    assert.ok(mount?.readOnly);
    const volume = (pod.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    assert.equal(volume.configMap.name, 'netbox-gate');
    assert.ok(Object.hasOwn(configMap.data, mount.subPath));
  });

  it('probes readiness on /ready and liveness on /health, at the listen port', () => {
    assert.equal(containerPort('http'), portOf(gw.server.listen));
    assert.deepEqual([container.readinessProbe.httpGet.path, container.readinessProbe.httpGet.port], ['/.netbox-gate/ready', 'http']);
    assert.deepEqual([container.livenessProbe.httpGet.path, container.livenessProbe.httpGet.port], ['/.netbox-gate/health', 'http']);
  });

  it('Prometheus scrapes metrics.listen', () => {
    const a = pod.metadata.annotations as Obj;
    assert.equal(a['prometheus.io/scrape'], 'true');
    assert.equal(Number(a['prometheus.io/port']), portOf(gw.metrics.listen));
    assert.equal(containerPort('metrics'), portOf(gw.metrics.listen));
    assert.equal(a['prometheus.io/path'], '/metrics');
  });

  it('shares sessions through the Redis the manifests run, with secrets from the mounted Secret', () => {
    assert.equal(gw.sessions.store.type, 'redis');
    const redis = new URL(gw.sessions.store.url as string);
    const redisSvc = find('Service', redis.hostname);
    assert.equal(redisSvc.spec.ports[0].port, Number(redis.port));
    const secretsMount = (container.volumeMounts as Obj[]).find((m) => m.name === 'secrets')!.mountPath as string;
    const files = [...gwText.matchAll(/\$\{file:([^}]+)\}/g)].map((m) => m[1]!);
    assert.ok(files.length >= 3);
    for (const f of files) assert.ok(f.startsWith(`${secretsMount}/`), f);
  });

  it('gives a long request time to finish before the pod is killed', () => {
    const shutdown = Number(/^(\d+)s$/.exec(gw.server.shutdownTimeout)![1]);
    assert.ok(pod.spec.terminationGracePeriodSeconds > shutdown);
  });

  it('runs without privileges', () => {
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  });

  it('the Service and Ingress lead to the gateway; NetBox is reachable only from the gateway pods', () => {
    const labels = pod.metadata.labels as Obj;
    assert.deepEqual(find('Service', 'netbox-gate').spec.selector, labels);
    assert.equal(find('Ingress', 'netbox-gate').spec.rules[0].http.paths[0].backend.service.name, 'netbox-gate');
    const np = find('NetworkPolicy', 'netbox-only-from-gateway');
    // netbox-chart's labels for the NetBox web pods.
    assert.deepEqual(np.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'netbox', 'app.kubernetes.io/component': 'netbox' });
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    assert.equal(np.spec.ingress.length, 1);
    assert.deepEqual(np.spec.ingress[0].from, [{ podSelector: { matchLabels: labels } }]);
    assert.deepEqual(np.spec.ingress[0].ports, [{ protocol: 'TCP', port: 8080 }]);
    assert.equal(gw.netbox.url, 'http://netbox:80', "netbox-chart's Service, which forwards to port 8080");
    const rp = find('NetworkPolicy', 'netbox-gate-redis-only-from-gateway');
    assert.deepEqual(rp.spec.ingress[0].from, [{ podSelector: { matchLabels: labels } }]);
  });

  // sessions.store redis and metrics arrive with issue 9 items 1 and 3; once the schema knows
  // them this runs the real check.
  const schemaKnows =
    'metrics' in configSchema.shape &&
    configSchema.shape.sessions.safeParse({ store: { type: 'redis', url: 'redis://r:6379' }, encryptionKeys: ['MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='] }).success;
  it('its gateway config passes check', { skip: schemaKnows ? false : 'this build has no metrics/redis config yet' }, () => {
    const r = check(gwText, 'k8s.yaml');
    assert.equal(r.status, 0, r.out);
  });
});

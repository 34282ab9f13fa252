// The package as a user gets it: `npm pack` of a clean copy of the repo, installed with
// `npm install --omit=dev` into an empty project and with `npm install -g` into an empty
// prefix (as on a server). The CLI reports its version and checks every shipped example, the
// library imports, its type declarations compile against a typed consumer, and nothing that
// only the demo or the tests need (oidc-provider, playwright) is installed.
// Needs npm and the npm registry (or its cache), like `npm ci`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo.js';
import { makeTempDir } from '../support/temp.js';

const run = promisify(execFile);
const root = repoRoot();
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 240_000 });

describe('the published package', { timeout: 300_000 }, () => {
  let app = '';
  let prefix = '';
  let packed: string[] = [];
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

  after(() => dir?.remove());
  let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;

  before(async () => {
    dir = await makeTempDir('netbox-gate-pack-');
    const tmp = dir.path;
    // Pack a copy, so prepack's clean build does not touch this checkout's build/.
    const src = join(tmp, 'src-copy');
    mkdirSync(src);
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'docs', 'examples']) {
      if (existsSync(join(root, f))) cpSync(join(root, f), join(src, f), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'));
    const { stdout } = await npm(['pack', '--json', '--pack-destination', tmp], src);
    const info = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info[0]!.files.map((f) => f.path);

    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await npm(['install', '--omit=dev', '--prefer-offline', join(tmp, info[0]!.filename)], app);

    // A server install: `npm install -g` into a prefix nothing else is in.
    prefix = join(tmp, 'prefix');
    mkdirSync(prefix);
    await npm(['install', '--global', '--prefix', prefix, '--omit=dev', '--prefer-offline', join(tmp, info[0]!.filename)], tmp);
  });

  it('ships the build with type declarations, the CLI, docs and examples, and no tests or demo', () => {
    for (const f of ['bin/netbox-gate.js', 'build/src/index.js', 'build/src/index.d.ts', 'build/src/cli/main.js', 'examples/oidc.yaml', 'README.md']) assert.ok(packed.includes(f), `missing ${f}`);
    assert.deepEqual(
      packed.filter((f) => /^(build\/(test|bench|demo)|test|demo|bench|scripts|src)\//.test(f) || f.endsWith('.map')),
      [],
    );
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'netbox-gate', 'package.json'), 'utf8')) as { exports: Record<string, { types?: string }>; types?: string };
    assert.equal(pkg.exports['.']?.types, './build/src/index.d.ts');
  });

  it('installs only what `netbox-gate serve` needs', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    for (const devOnly of ['oidc-provider', 'playwright-core', 'typescript', 'fast-check', '@types']) assert.ok(!installed.includes(devOnly), `${devOnly} was installed`);
    for (const runtime of ['jose', 'openid-client', 'ldapts', 'pino', 'undici', 'yaml', 'zod']) assert.ok(installed.includes(runtime), `${runtime} missing`);
  });

  it('`netbox-gate check` accepts every shipped example from the installed package', async () => {
    const dir = join(app, 'node_modules', 'netbox-gate', 'examples');
    const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('-source.yaml'));
    assert.ok(examples.length >= 5);
    for (const f of examples) {
      const text = readFileSync(join(dir, f), 'utf8');
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const m of text.matchAll(/\$\{env:([^}]+)\}/g)) env[m[1]!.trim()] = 'placeholder-secret';
      const r = await run(join(app, 'node_modules', '.bin', 'netbox-gate'), ['check', '--config', join(dir, f)], { cwd: app, env, encoding: 'utf8' }).catch((e: { code?: number; stderr?: string }) => e);
      assert.ok(!('code' in r && r.code), `${f}: ${'stderr' in r ? r.stderr : ''}`);
    }
  });

  it('imports as a library, and its declarations type-check a consumer', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('netbox-gate'); console.log(Object.keys(m).sort().join(' '))"], { cwd: app, encoding: 'utf8' });
    for (const name of ['createGateway', 'createMemoryStore', 'decide', 'loadConfigFile', 'GateError']) assert.ok(stdout.split(' ').includes(name), `${name} not exported: ${stdout}`);

    // Every parameter type of the public functions can be named from the package root.
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { createGateway, createMemoryStore, decide, parseConfigText, silentLogger, type GateConfig, type GatewayOptions, type KeyValueStore, type Logger, type Identity, type Decision, type CompiledPolicy } from 'netbox-gate';
const logger: Logger = silentLogger;
const store: KeyValueStore = createMemoryStore();
const opts: GatewayOptions = { logger, store };
export function start(config: GateConfig) {
  return createGateway(config, opts);
}
export function check(policy: CompiledPolicy, who: Identity): Decision {
  return decide(policy, who);
}
export const parsed: GateConfig = parseConfigText('', 'x.yaml');
// @ts-expect-error a number is not a Logger
export const bad: GatewayOptions = { logger: 1, store };
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), '--skipLibCheck', 'consumer.ts'];
    const r = await run(process.execPath, [tsc, ...args], { cwd: app, encoding: 'utf8' }).catch((e: { stdout?: string; stderr?: string }) => e);
    assert.ok(!('code' in r && r.code), `tsc: ${'stdout' in r ? r.stdout : ''}${'stderr' in r ? r.stderr : ''}`);
  });

  it('`netbox-gate --version` prints the package version', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'netbox-gate'), ['--version'], { cwd: app, encoding: 'utf8' });
    assert.equal(stdout, `${version}\n`);
  });

  it('installed with `npm install -g` into an empty prefix, the command runs: --version, check, hash-password', async () => {
    const cmd = join(prefix, 'bin', 'netbox-gate');
    assert.ok(existsSync(cmd), `no ${cmd}`);
    const pkgDir = join(prefix, 'lib', 'node_modules', 'netbox-gate');
    assert.ok(existsSync(join(pkgDir, 'package.json')), `not installed under ${pkgDir}`);
    // Its own dependencies, nothing from this checkout's node_modules.
    for (const runtime of ['jose', 'openid-client', 'ldapts', 'pino', 'undici', 'yaml', 'zod']) assert.ok(existsSync(join(pkgDir, 'node_modules', runtime)), `${runtime} missing`);
    const cwd = prefix; // away from the checkout, so nothing resolves from it
    assert.equal((await run(cmd, ['--version'], { cwd, encoding: 'utf8' })).stdout, `${version}\n`);

    const example = join(pkgDir, 'examples', 'local.yaml');
    const env = { ...process.env, KEYCLOAK_CLIENT_SECRET: 'placeholder-secret' };
    const checked = await run(cmd, ['check', '--config', example], { cwd, env, encoding: 'utf8' });
    assert.match(checked.stdout, /OK \(2 sources: keycloak \[oidc\], break-glass \[local\]/);

    const hashed = await new Promise<string>((resolve, reject) => {
      const p = execFile(cmd, ['hash-password'], { cwd, encoding: 'utf8' }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
      p.stdin!.end('installed-pw\n');
    });
    assert.match(hashed, /^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
  });

  it('ships the deployment examples: systemd unit, Dockerfile, compose and Kubernetes files', () => {
    for (const f of ['examples/netbox-gate.service', 'examples/deploy/Dockerfile', 'examples/deploy/docker-compose/docker-compose.override.yml', 'examples/deploy/kubernetes/kustomization.yaml', 'docs/deployment.md', 'docs/break-glass.md']) {
      assert.ok(packed.includes(f), `missing ${f}`);
    }
  });
});

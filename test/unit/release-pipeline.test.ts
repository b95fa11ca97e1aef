// The CI and release workflows' promises, checked offline (actionlint checks their syntax in
// workflows-lint.test.ts): each job runs the Node it set up, also as root through sudo; the
// Windows release job has its SSH agent; Electron's downloads are cached; a tag must match
// package.json's version and becomes a draft release with checksums; the Linux e2e runs the
// installed deb with Chromium's sandbox on. The two scripts the workflows call are run here.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { run, tempDir } from '../helpers/openssh.js';
import { needsLinux } from '../helpers/platform.js';
import { ROOT } from '../helpers/proxy.js';

interface Step {
  name?: string;
  if?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  'runs-on': string;
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (name: string) =>
  yaml.load(readFileSync(join(ROOT, '.github', 'workflows', name), 'utf8')) as Workflow;
const ci = load('ci.yml');
const release = load('release.yml');
const jobs = (w: Workflow) => Object.entries(w.jobs);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** Runs Node: installs or tests with it. */
const usesNode = (s: Step) => /\bnpm (ci|test|run)\b|node scripts\/|\.ci\/run/.test(s.run ?? '');
const setsUpNode = (s: Step) => (s.uses ?? '').startsWith('actions/setup-node');
const checksNode = (s: Step) => /check-node/.test(s.run ?? '');

describe('each job runs the Node it set up', () => {
  it('every setup-node is followed by a check before anything runs on Node', () => {
    for (const [name, job] of [...jobs(ci), ...jobs(release)]) {
      job.steps.forEach((s, i) => {
        if (!setsUpNode(s)) return;
        const next = job.steps.slice(i + 1);
        const check = next.findIndex((t) => checksNode(t) || /\.ci\/run/.test(t.run ?? ''));
        const use = next.findIndex(usesNode);
        assert.ok(check >= 0, `${name}: a Node check after setup-node`);
        assert.ok(use < 0 || check <= use, `${name}: the check comes before Node is used`);
      });
    }
  });

  it('sudo never loses PATH: .ci/run gets PATH and the expected version through env, and checks it before npm ci', () => {
    const lines = [...jobs(ci), ...jobs(release)].flatMap(([, j]) =>
      j.steps.flatMap((s) => (s.run ?? '').split('\n')),
    );
    const ciRun = lines.filter((l) => l.includes('.ci/run'));
    assert.ok(ciRun.length >= 2, 'CI and release both run .ci/run');
    for (const l of lines.filter((x) => /\bsudo\b/.test(x) && /bash|node|npm/.test(x))) {
      assert.match(l, /sudo env "PATH=\$PATH" "EXPECT_NODE=\$\(node --version\)"/, l);
    }
    assert.doesNotMatch(JSON.stringify([ci, release]), /preserve-env=PATH/);
    const script = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const check = script.search(/^sh \.ci\/check-node$/m);
    assert.ok(check > 0 && check < script.search(/^npm ci /m), 'checked before npm ci');
  });

  it('.ci/check-node fails on any other Node, naming both, and passes on the expected one', async () => {
    const dir = tempDir('sap-check-node-');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // The runner image's own Node, first on sudo's secure_path.
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho v20.0.0-image\n');
    chmodSync(join(bin, 'node'), 0o755);
    const expected = process.version;
    const script = join(ROOT, '.ci', 'check-node');
    const withPath = (first: string) => ({
      ...process.env,
      EXPECT_NODE: expected,
      PATH: `${first}${delimiter}${process.env.PATH}`,
    });
    const wrong = await run('sh', [script], { env: withPath(bin) });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`v20\\.0\\.0-image, not the ${expected}`));
    const right = await run('sh', [script], { env: withPath(join(process.execPath, '..')) });
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stdout, new RegExp(`node ${expected}`));
  });
});

describe('release', () => {
  const installers = release.jobs.installers!;
  const stepIndex = (pred: (s: Step) => boolean) => installers.steps.findIndex(pred);

  it('Windows: the OpenSSH agent service is started before the tests and the e2e suite', () => {
    const start = stepIndex((s) => /Start-Service ssh-agent/.test(s.run ?? ''));
    assert.ok(start >= 0, 'a step starts the ssh-agent service');
    assert.match(installers.steps[start]!.if ?? '', /runner\.os == 'Windows'/);
    assert.match(installers.steps[start]!.run!, /Set-Service -Name ssh-agent -StartupType Manual/);
    const e2e = stepIndex((s) => /run-e2e/.test(s.run ?? ''));
    const suite = stepIndex((s) => /npm run check|\.ci\/run/.test(s.run ?? ''));
    assert.ok(start < suite && start < e2e);
  });

  it("Electron's binary and electron-builder's downloads are cached before npm ci, in every job that installs", () => {
    for (const [name, job] of [...jobs(ci), ['installers', installers] as const]) {
      const set = job.steps.findIndex(
        (s) =>
          /electron_config_cache=\$RUNNER_TEMP\/electron-cache/.test(s.run ?? '') &&
          /ELECTRON_BUILDER_CACHE=\$RUNNER_TEMP\/electron-cache/.test(s.run ?? ''),
      );
      const cache = job.steps.findIndex((s) => (s.uses ?? '').startsWith('actions/cache'));
      const install = job.steps.findIndex((s) => /npm ci|\.ci\/run/.test(s.run ?? ''));
      assert.ok(set >= 0 && set < cache && cache < install, `${name}: cache before install`);
      assert.equal(job.steps[cache]!.with!.path, '${{ runner.temp }}/electron-cache', name);
      assert.match(job.steps[cache]!.with!.key!, /hashFiles\('package-lock\.json'\)/, name);
    }
    // Through sudo, .ci/run's npm ci must see the cache folder too.
    const sudoRun = installers.steps.find((s) => /\.ci\/run/.test(s.run ?? ''))!;
    assert.match(sudoRun.run!, /"electron_config_cache=\$electron_config_cache"/);
  });

  it('a tag must be v<package.json version>; then a draft release with every installer and SHA256SUMS', () => {
    assert.deepEqual(release.permissions, { contents: 'read' }, 'read-only unless a job says');
    const version = release.jobs.version!;
    assert.ok(version.steps.some((s) => /check-tag-version "\$GITHUB_REF_NAME"/.test(s.run ?? '')));
    assert.equal(installers.needs, 'version');
    const publish = release.jobs.publish!;
    assert.equal(publish.if, "github.ref_type == 'tag'");
    assert.deepEqual([publish.needs].flat().sort(), ['installers', 'version']);
    assert.deepEqual(publish.permissions, { contents: 'write' });
    const download = publish.steps.findIndex((s) =>
      (s.uses ?? '').startsWith('actions/download-artifact'),
    );
    assert.equal(publish.steps[download]!.with!.pattern, 'installers-*');
    const sums = publish.steps.findIndex((s) => /sha256sum -- \* > SHA256SUMS/.test(s.run ?? ''));
    const draft = publish.steps.findIndex((s) => /gh release create/.test(s.run ?? ''));
    assert.ok(download < sums && sums < draft);
    assert.match(publish.steps[draft]!.run!, /--draft/);
    assert.match(publish.steps[draft]!.run!, /--verify-tag/);
    assert.match(publish.steps[draft]!.run!, /release\/\*/);
  });

  it('.ci/check-tag-version accepts only v<package.json version>', async () => {
    const script = join(ROOT, '.ci', 'check-tag-version');
    const ok = await run('sh', [script, `v${pkg.version}`], { cwd: ROOT });
    assert.equal(ok.code, 0, ok.stderr);
    for (const tag of [pkg.version, `v${pkg.version}.1`, 'v99.0.0', `v${pkg.version}-rc1`]) {
      const bad = await run('sh', [script, tag], { cwd: ROOT });
      assert.equal(bad.code, 1, tag);
      assert.match(bad.stderr, new RegExp(`tag ${tag.replace(/\./g, '\\.')} does not match`));
    }
  });

  it(
    'Linux: the e2e suite runs the installed deb (its AppArmor profile, no sysctl), with the sandbox on',
    { skip: needsLinux('sh') },
    () => {
      const text = readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
      assert.doesNotMatch(text, /apparmor_restrict_unprivileged_userns/);
      const install = stepIndex((s) =>
        /apt-get install .*\.\/release-e2e\/\*\.deb/.test(s.run ?? ''),
      );
      const e2e = stepIndex((s) => /run-e2e/.test(s.run ?? ''));
      assert.ok(install >= 0 && install < e2e);
      assert.match(installers.steps[install]!.run!, /test -f \/etc\/apparmor\.d\/ssh-agent-proxy/);
      // The deb installs to /opt/<productName>/<executableName> (electron-builder's FpmTarget).
      const builder = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as {
        productName: string;
        linux: { executableName: string };
      };
      const linux = (
        installers as unknown as { strategy: { matrix: { include: Record<string, string>[] } } }
      ).strategy.matrix.include.find((m) => m.os === 'ubuntu-latest')!;
      assert.equal(linux.e2e_build, '--linux deb');
      assert.equal(linux.e2e_app, `/opt/${builder.productName}/${builder.linux.executableName}`);
      const e2eText = readFileSync(join(ROOT, 'test', 'e2e', 'app.test.ts'), 'utf8');
      assert.match(
        e2eText,
        /chromiumSandbox: true/,
        'Playwright adds --no-sandbox on Linux unless told',
      );
    },
  );
});

// Packaging, checked offline: electron-builder.yml against electron-builder's own JSON
// schema, the files it names, what goes into app.asar (packed with @electron/asar, as
// electron-builder does), the service units (systemd-analyze verify, plist parse), the
// icons, and the release workflow's shape. Installers themselves are built by CI on each OS.
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { createPackage, listPackage, extractFile } from '@electron/asar';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { minimatch } from 'minimatch';
import plist from 'plist';
import { DESKTOP_FILE } from '../../src/main/autostart-linux.js';
import { run, tempDir } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';
import { needsLinux } from '../helpers/platform.js';

type Config = Record<string, unknown> & {
  files: string[];
  extraResources: { from: string; to: string }[];
};
const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Config;
const schema = JSON.parse(
  readFileSync(join(ROOT, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8'),
) as object;

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema uses ajv-keywords' `typeof` for function-valued options (hooks).
  ajv.addKeyword({
    keyword: 'typeof',
    validate: (type: string, data: unknown) => typeof data === type,
  });
  return ajv.compile(schema);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** electron-builder's `files`: include patterns, then `!` exclusions, relative to the app dir. */
function selected(files: readonly string[]): string[] {
  const candidates = [
    'package.json',
    'README.md',
    'tsconfig.json',
    ...['dist', 'src', 'test', 'assets', 'scripts', 'bench'].flatMap((d) =>
      existsSync(join(ROOT, d)) ? walk(join(ROOT, d)).map((p) => relative(ROOT, p)) : [],
    ),
  ];
  return candidates.filter((f) => {
    let keep = false;
    for (const pattern of files) {
      if (pattern.startsWith('!')) {
        if (minimatch(f, pattern.slice(1))) keep = false;
      } else if (minimatch(f, pattern)) keep = true;
    }
    return keep;
  });
}

describe('electron-builder.yml', () => {
  it("is valid against electron-builder's own schema, and a misspelled key is caught", () => {
    const validate = validator();
    assert.equal(validate(config), true, JSON.stringify(validate.errors));
    const typo = { ...config, win: { ...(config.win as object), tagret: ['msi'] } };
    assert.equal(validate(typo), false);
    assert.match(JSON.stringify(validate.errors), /tagret/);
    assert.equal(
      validate({ ...config, electronFuses: { runAsNod: false } }),
      false,
      'a misspelled fuse is caught',
    );
  });

  it('targets MSI, DMG + zip for Apple Silicon and Intel, AppImage + deb; per-user MSI with a stable upgrade code; menu-bar-only on macOS', () => {
    assert.deepEqual((config.win as { target: string[] }).target, ['msi']);
    assert.deepEqual((config.mac as { target: unknown }).target, [
      { target: 'dmg', arch: ['arm64', 'x64'] },
      { target: 'zip', arch: ['arm64', 'x64'] },
    ]);
    assert.deepEqual((config.linux as { target: string[] }).target, ['AppImage', 'deb']);
    const msi = config.msi as {
      perMachine: boolean;
      upgradeCode: string;
      createStartMenuShortcut: boolean;
    };
    assert.equal(msi.perMachine, false);
    assert.equal(msi.createStartMenuShortcut, true);
    assert.equal(
      msi.upgradeCode,
      '681ca837-7ed1-529b-824d-ad31dcc669e1',
      'never change the upgrade code',
    );
    assert.equal(
      (config.mac as { extendInfo: { LSUIElement: boolean } }).extendInfo.LSUIElement,
      true,
    );
    assert.equal((config.mac as { hardenedRuntime: boolean }).hardenedRuntime, true);
    assert.deepEqual(config.electronFuses, {
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      // Our pages load from file:// and need no more than a browser gives such a page.
      grantFileProtocolExtraPrivileges: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      // Unsigned builds: re-sign ad hoc after the fuses change the binary, or Apple Silicon
      // refuses to run it.
      resetAdHocDarwinSignature: true,
    });
  });

  it('every file it references exists', () => {
    const refs = [
      (config.win as { icon: string }).icon,
      (config.mac as { icon: string }).icon,
      (config.mac as { entitlements: string }).entitlements,
      (config.linux as { icon: string }).icon,
      ...config.extraResources.map((r) => r.from),
    ];
    for (const r of refs) assert.ok(existsSync(join(ROOT, r)), r);
    const entitlements = plist.parse(
      readFileSync(join(ROOT, 'build', 'entitlements.mac.plist'), 'utf8'),
    ) as Record<string, boolean>;
    assert.equal(entitlements['com.apple.security.cs.allow-jit'], true);
  });

  it('files: the built entry points and tray icons, never sources, tests or source maps', () => {
    const files = selected(config.files);
    for (const f of [
      'package.json',
      'dist/main/main.js',
      'dist/preload/preload.js',
      'dist/cli/cli.js',
      'dist/renderer/approval.html',
      'dist/renderer/approval.js',
      'dist/renderer/activity.html',
      'assets/tray-idle.png',
      'assets/tray-waitingTemplate@2x.png',
      'assets/tray-paused.ico',
    ]) {
      assert.ok(files.includes(f), `${f} is packaged`);
    }
    for (const f of files) {
      assert.doesNotMatch(f, /^(src|test|bench|scripts)\//, `${f} must not be packaged`);
      assert.doesNotMatch(f, /^dist\/cli-package\//, `${f}: the CLI package ships apart`);
      assert.doesNotMatch(f, /\.map$|\.ts$/, `${f} must not be packaged`);
    }
  });

  it('the app folder packs into app.asar, whose package.json main resolves inside it', async () => {
    const stage = join(tempDir(), 'app');
    for (const f of selected(config.files)) {
      mkdirSync(dirname(join(stage, f)), { recursive: true });
      cpSync(join(ROOT, f), join(stage, f));
    }
    const archive = join(dirname(stage), 'app.asar');
    await createPackage(stage, archive);
    const listed = listPackage(archive, { isPack: false }).map((p) => p.replace(/\\/g, '/'));
    const pkg = JSON.parse(extractFile(archive, 'package.json').toString()) as { main: string };
    assert.ok(listed.includes(`/${pkg.main}`), `${pkg.main} is inside app.asar`);
    assert.ok(listed.includes('/dist/preload/preload.js'));
    assert.ok(
      !listed.some((p) => p.startsWith('/src/') || p.startsWith('/test/') || p.endsWith('.map')),
    );
    assert.ok(statSync(archive).size < 5 * 1024 * 1024, 'the app stays small');
  });
});

describe('app icons', () => {
  it('PNG sizes each OS wants, an ICO with 256 px, an ICNS with 1024 px', () => {
    for (const n of [16, 32, 48, 64, 128, 256, 512, 1024]) {
      const png = readFileSync(join(ROOT, 'build', 'icons', `${n}x${n}.png`));
      assert.equal(png.readUInt32BE(16), n);
      assert.equal(png.readUInt32BE(20), n);
    }
    const ico = readFileSync(join(ROOT, 'build', 'icon.ico'));
    const count = ico.readUInt16LE(4);
    const sizes = Array.from({ length: count }, (_, i) => ico.readUInt8(6 + 16 * i) || 256);
    assert.ok(sizes.includes(256) && sizes.includes(16), `ico sizes ${sizes}`);
    const icns = readFileSync(join(ROOT, 'build', 'icon.icns'));
    assert.equal(icns.toString('ascii', 0, 4), 'icns');
    assert.equal(icns.readUInt32BE(4), icns.length);
    assert.ok(icns.includes(Buffer.from('ic10')), '1024 px entry');
  });
});

describe('service units for headless hosts', () => {
  it(
    'the systemd user unit passes systemd-analyze verify, with its hardening',
    {
      skip: needsLinux('systemd-analyze'),
    },
    async () => {
      const unitText = readFileSync(
        join(ROOT, 'contrib', 'systemd', 'ssh-agent-proxy.service'),
        'utf8',
      );
      for (const line of [
        'NoNewPrivileges=true',
        'ProtectSystem=strict',
        'ProtectHome=read-only',
        'PrivateTmp=true',
        'LimitCORE=0',
        'UMask=0077',
        'Environment=SSH_AGENT_PROXY_APPROVAL=allow',
        // The CLI package's bin (plain Node), never the Electron app: no display here.
        'ExecStart=%h/.local/bin/ssh-agent-proxy --console',
      ]) {
        assert.ok(unitText.includes(line), line);
      }
      const dir = tempDir();
      // ExecStart must exist for verify: point it at this Node in a temp copy.
      const verify = async (text: string) => {
        writeFileSync(
          join(dir, 'ssh-agent-proxy.service'),
          text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`),
        );
        mkdirSync(join(dir, 'run'), { recursive: true });
        return run('systemd-analyze', ['verify', '--user', join(dir, 'ssh-agent-proxy.service')], {
          env: { ...process.env, XDG_RUNTIME_DIR: join(dir, 'run') },
        });
      };
      const ok = await verify(unitText);
      assert.equal(ok.code, 0, ok.stderr);
      assert.doesNotMatch(ok.stderr, /ssh-agent-proxy\.service:\d+/, `no warnings: ${ok.stderr}`);
      const broken = await verify(unitText.replace('NoNewPrivileges=true', 'NoNewPrivilege=true'));
      assert.match(broken.stderr, /Unknown key 'NoNewPrivilege'/, 'verify does catch mistakes');
    },
  );

  it('the launchd plist parses and runs --console', () => {
    const p = plist.parse(
      readFileSync(join(ROOT, 'contrib', 'launchd', 'dev.sshagentproxy.console.plist'), 'utf8'),
    ) as {
      Label: string;
      ProgramArguments: string[];
      EnvironmentVariables: Record<string, string>;
    };
    assert.equal(p.Label, 'dev.sshagentproxy.console');
    assert.deepEqual(p.ProgramArguments.slice(1), ['--console']);
    // The CLI package's bin, not the .app: launchd agents have no display session to rely on.
    assert.match(p.ProgramArguments[0]!, /\/bin\/ssh-agent-proxy$/);
    assert.doesNotMatch(p.ProgramArguments[0]!, /\.app\//);
    assert.match(p.EnvironmentVariables.PATH!, /(^|:)\/opt\/homebrew\/bin(:|$)/, 'node is found');
    assert.equal(p.EnvironmentVariables.SSH_AGENT_PROXY_APPROVAL, 'allow');
  });
});

describe('workflows', () => {
  it("CI runs the README test command; release builds every platform's targets", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes('npm ci && npm test'));
    const ci = yaml.load(readFileSync(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    assert.ok(
      Object.values(ci.jobs).some((j) => j.steps.some((s) => s.run?.includes('bash .ci/run'))),
    );
    const release = yaml.load(
      readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8'),
    ) as {
      jobs: Record<
        string,
        {
          strategy?: { matrix: { include: { os: string; dist: string }[] } };
          steps: { run?: string; uses?: string }[];
        }
      >;
    };
    const build = Object.values(release.jobs).find((j) => j.strategy)!;
    const oses = build.strategy!.matrix.include.map((m) => m.os).sort();
    assert.deepEqual(oses, ['macos-latest', 'ubuntu-latest', 'windows-latest']);
    assert.deepEqual(build.strategy!.matrix.include.map((m) => m.dist).sort(), [
      '--linux',
      '--mac',
      '--win',
    ]);
    assert.ok(build.steps.some((s) => s.run?.includes('electron-builder')));
    assert.ok(build.steps.some((s) => s.uses?.startsWith('actions/upload-artifact')));
  });

  it('CI: Linux, macOS and Windows each run the suite and the e2e suite (Linux under Xvfb)', () => {
    const ci = yaml.load(readFileSync(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
      jobs: Record<string, { 'runs-on': string; steps: { run?: string }[] }>;
    };
    const jobs = Object.values(ci.jobs);
    assert.deepEqual(jobs.map((j) => j['runs-on']).sort(), [
      'macos-latest',
      'ubuntu-latest',
      'windows-latest',
    ]);
    for (const j of jobs) {
      const runs = j.steps.map((s) => s.run ?? '');
      assert.ok(
        runs.some((r) => /npm test|\.ci\/run/.test(r)),
        `${j['runs-on']} runs the suite`,
      );
      const e2e = runs.find((r) => r.includes('npm run test:e2e'));
      assert.ok(e2e, `${j['runs-on']} runs the e2e suite`);
      if (j['runs-on'] === 'ubuntu-latest') assert.match(e2e, /^xvfb-run /);
    }
  });

  it('release: e2e against the packaged app before the upload; each OS its own certificate; the notarization key as a file', () => {
    const text = readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
    const release = yaml.load(text) as {
      jobs: Record<
        string,
        { steps: { name?: string; run?: string; uses?: string; env?: Record<string, string> }[] }
      >;
    };
    const steps = release.jobs.installers!.steps;
    const e2e = steps.findIndex((s) => s.env?.E2E_APP !== undefined && /run-e2e/.test(s.run ?? ''));
    const upload = steps.findIndex((s) => s.uses?.startsWith('actions/upload-artifact'));
    assert.ok(e2e >= 0 && e2e < upload, 'e2e runs, and before the upload');
    const build = steps.find((s) => s.name === 'Build installers')!;
    assert.match(build.env!.WIN_CSC_LINK!, /runner\.os == 'Windows' && secrets\.WIN_CSC_LINK/);
    assert.match(build.env!.CSC_LINK!, /runner\.os == 'macOS' && secrets\.CSC_LINK/);
    assert.equal(
      build.env!.APPLE_API_KEY,
      undefined,
      'not the key text: a path, set by the step before',
    );
    const p8 = steps.find((s) => s.name === 'Notarization key file')!;
    assert.match(p8.run!, /AuthKey\.p8/);
    assert.match(p8.run!, /APPLE_API_KEY=\$key" >> "\$GITHUB_ENV"/);
  });

  it("package.json: an author (the MSI's Manufacturer), and a desktopName that is the .desktop file's own name", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      author?: { name?: string };
      desktopName?: string;
    };
    // electron-builder's MSI takes Manufacturer from author.name, and warns without one.
    assert.ok(pkg.author?.name, 'author.name');
    // Electron names the window (Wayland app id, X11 WM_CLASS) after desktopName; with
    // syncDesktopName the deb installs its entry under that name, which is also the one the
    // app's own autostart entry uses.
    assert.equal(
      pkg.desktopName,
      `${(config.linux as { executableName: string }).executableName}.desktop`,
    );
    assert.equal(pkg.desktopName, DESKTOP_FILE);
    assert.equal((config.linux as { syncDesktopName?: boolean }).syncDesktopName, true);
  });

  it('package.json: homepage (the deb needs it), and engines per part', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      homepage: string;
      engines: { node: string };
    };
    assert.match(pkg.homepage, /^https:\/\//);
    assert.equal(pkg.engines.node, '>=20.19');
    const cli = JSON.parse(
      readFileSync(join(ROOT, 'dist', 'cli-package', 'package.json'), 'utf8'),
    ) as { engines: { node: string }; homepage: string };
    assert.equal(cli.engines.node, '>=20.10');
    assert.equal(cli.homepage, pkg.homepage);
  });
});

// Electron's app.getLoginItemSettings / app.setLoginItemSettings as they really behave on each
// OS (Electron 45's source), so a test cannot pass by reading back what it wrote:
//   Windows (shell/browser/browser_win.cc): set writes HKCU\…\Run under `name`, or under the
//     process's AppUserModelID when no name is given, as `path` (else the bare exe path,
//     unquoted) plus the args joined by spaces; `enabled: false` marks it off under
//     Explorer\StartupApproved\Run, as Task Manager does. get's `openAtLogin` reads only the
//     value named after the AppUserModelID and compares it with `path`+`args` as a string;
//     `launchItems` lists every Run value (HKCU, then HKLM) whose program — argv[0] as
//     CommandLineToArgvW splits it — is this exe, ignoring case.
//   macOS (browser_mac.mm): SMAppService for the main app; `args`, `path` and `name` are
//     ignored; openAtLogin is `status === 'enabled'`.
//   Linux (browser_linux.cc): set does nothing; get answers the defaults.
import type { loginItem } from '../../src/main/login-item.js';

// Electron's own types, reached through the adapter's parameter (tests never import electron).
type ElectronLoginApi = Parameters<typeof loginItem>[0];
type Settings = Parameters<ElectronLoginApi['setLoginItemSettings']>[0];
type LoginItemSettingsOptions = NonNullable<
  Parameters<ElectronLoginApi['getLoginItemSettings']>[0]
>;
type LoginItemSettings = ReturnType<ElectronLoginApi['getLoginItemSettings']>;
type LaunchItems = LoginItemSettings['launchItems'][number];
type Platform = 'win32' | 'darwin' | 'linux';
type Status = LoginItemSettings['status'];

/** Registry value names are case-insensitive; values keep the name as written. */
class RegistryKey {
  private readonly values = new Map<string, { name: string; data: string }>();
  write(name: string, data: string): void {
    this.values.set(name.toLowerCase(), { name, data });
  }
  read(name: string): string | undefined {
    return this.values.get(name.toLowerCase())?.data;
  }
  delete(name: string): void {
    this.values.delete(name.toLowerCase());
  }
  entries(): { name: string; data: string }[] {
    return [...this.values.values()];
  }
}

/** argv[0] of a command line as CommandLineToArgvW reads it (base::CommandLine::GetProgram). */
export function programOf(commandLine: string): string {
  if (commandLine.startsWith('"')) {
    const end = commandLine.indexOf('"', 1);
    return end < 0 ? commandLine.slice(1) : commandLine.slice(1, end);
  }
  return /^[^ \t]*/.exec(commandLine)![0];
}

/** The rest of the command line, split on spaces (enough for the args these tests use). */
function argsOf(commandLine: string): string[] {
  const program = programOf(commandLine);
  const rest = commandLine.slice(commandLine.startsWith('"') ? program.length + 2 : program.length);
  return rest.split(/[ \t]+/).filter(Boolean);
}

export interface FakeLoginItems {
  isPackaged: boolean;
  getLoginItemSettings(options?: LoginItemSettingsOptions): LoginItemSettings;
  setLoginItemSettings(settings: Settings): void;
  setAppUserModelId(id: string): void;
  /** Windows: HKCU\Software\Microsoft\Windows\CurrentVersion\Run. */
  readonly run: RegistryKey;
  /** Windows: HKLM's Run key (read by get, never written by set). */
  readonly machineRun: RegistryKey;
  /** Windows: HKCU\…\Explorer\StartupApproved\Run, as Task Manager's Startup tab writes it. */
  readonly startupApproved: Map<string, Uint8Array>;
  /** macOS: SMAppService's status for the main app. */
  macStatus: Status;
}

export function fakeLoginItems(
  platform: Platform,
  opts: { exePath?: string; appName?: string; isPackaged?: boolean } = {},
): FakeLoginItems {
  const exePath =
    opts.exePath ??
    'C:\\Users\\ana\\AppData\\Local\\Programs\\SSH Agent Proxy\\SSH Agent Proxy.exe';
  let aumid: string | undefined;
  // GetRawAppUserModelID: the one set, else "electron.app.<app name>".
  const appUserModelId = () => aumid ?? `electron.app.${opts.appName ?? 'SSH Agent Proxy'}`;
  // FormatCommandLineString: an empty path becomes the bare exe path, then the args follow.
  const commandLine = (path: string | undefined, args: readonly string[] | undefined) => {
    const exe = path || exePath;
    return args && args.length > 0 ? `${exe} ${args.join(' ')}` : exe;
  };
  const approvedKey = (name: string) => name.toLowerCase();
  const isEnabled = (name: string) => {
    const b = fake.startupApproved.get(approvedKey(name));
    // browser_win.cc compares the value as a C string: 00… and 02 00… mean enabled.
    return b === undefined || b[0] === 0 || (b[0] === 2 && b[1] === 0);
  };

  const fake: FakeLoginItems = {
    isPackaged: opts.isPackaged ?? true,
    run: new RegistryKey(),
    machineRun: new RegistryKey(),
    startupApproved: new Map(),
    macStatus: 'not-registered',
    setAppUserModelId(id) {
      aumid = id;
    },
    setLoginItemSettings(s) {
      if (platform === 'linux') return;
      if (platform === 'darwin') {
        if (s.type && s.type !== 'mainAppService' && !s.serviceName)
          throw new TypeError("'name' is required when type is not mainAppService");
        if (s.openAtLogin) {
          if (fake.macStatus !== 'requires-approval') fake.macStatus = 'enabled';
        } else fake.macStatus = 'not-registered';
        return;
      }
      const name = s.name ? s.name : appUserModelId();
      if (s.openAtLogin) {
        fake.run.write(name, commandLine(s.path, s.args));
        if (s.enabled === false)
          fake.startupApproved.set(approvedKey(name), Uint8Array.of(3, ...new Array(11).fill(0)));
        else fake.startupApproved.delete(approvedKey(name));
      } else {
        fake.startupApproved.delete(approvedKey(name));
        fake.run.delete(name);
      }
    },
    getLoginItemSettings(o = {}) {
      const none = {
        openAtLogin: false,
        wasOpenedAtLogin: false,
        executableWillLaunchAtLogin: false,
      };
      if (platform === 'linux') return none as LoginItemSettings;
      if (platform === 'darwin') {
        if (o.type && o.type !== 'mainAppService' && !o.serviceName)
          throw new TypeError("'name' is required when type is not mainAppService");
        return {
          ...none,
          openAtLogin: fake.macStatus === 'enabled',
          status: fake.macStatus,
        } as LoginItemSettings;
      }
      const own = fake.run.read(appUserModelId());
      const openAtLogin = own !== undefined && own === commandLine(o.path, o.args);
      const lookup = programOf(o.path || exePath).toLowerCase();
      const launchItems: LaunchItems[] = [];
      for (const [scope, key] of [
        ['user', fake.run],
        ['machine', fake.machineRun],
      ] as const) {
        for (const { name, data } of key.entries()) {
          if (programOf(data).toLowerCase() !== lookup) continue;
          // HKLM's StartupApproved is not modelled: machine-wide entries count as enabled.
          const enabled = scope === 'user' ? isEnabled(name) : true;
          launchItems.push({ name, path: programOf(data), args: argsOf(data), scope, enabled });
        }
      }
      return {
        ...none,
        openAtLogin,
        executableWillLaunchAtLogin: launchItems.some((i) => i.enabled),
        launchItems,
      } as LoginItemSettings;
    },
  };
  return fake;
}

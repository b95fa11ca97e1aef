// The container shim ships beside the app: scripts/ in a checkout, resources/ in a packaged app.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function findShim(): string {
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  const candidates = [
    join(__dirname, '..', '..', 'scripts', 'ssh-agent-proxy-sign'),
    ...(resources ? [join(resources, 'ssh-agent-proxy-sign')] : []),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the container shim is missing (looked in ${candidates.join(', ')})`);
  return found;
}

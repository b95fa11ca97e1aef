// One finder per OS, chosen once at start. Other platforms (the BSDs, …) see no program.
import { DarwinPeerFinder } from './peer-finder-darwin.js';
import { LinuxPeerFinder } from './peer-finder-linux.js';
import { WindowsPeerFinder } from './peer-finder-windows.js';
import type { PeerFinder } from './peer-process.js';

export function choosePeerFinder(platform: NodeJS.Platform = process.platform): PeerFinder | null {
  switch (platform) {
    case 'linux':
      return new LinuxPeerFinder();
    case 'darwin':
      return new DarwinPeerFinder();
    case 'win32':
      return new WindowsPeerFinder();
    default:
      return null;
  }
}

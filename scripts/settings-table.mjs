// Prints the README's configuration table from the settings in src/core/config/settings-spec.ts, so
// the two cannot drift: `npm run docs` rewrites the table, a test checks it.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('tsx/cjs');
const { SETTINGS } = require('../src/core/config/config.ts');

const md = (s) =>
  s
    .replace(/\|/g, '\\|')
    .replace(/\$\w+|\\\\\.\\pipe\\[\w-]+|SSH_AGENT_PROXY_\w+|\?namespace=/g, (m) => `\`${m}\``);
export const table = [
  '| Environment | Flag | settings.json | Default | Meaning |',
  '|---|---|---|---|---|',
  ...SETTINGS.map(
    (s) =>
      `| \`${s.env}\` | \`--${s.flag}\` | \`${s.key}\` | ${s.default ? `\`${s.default}\`` : '—'} | ${md(s.describe)} |`,
  ),
].join('\n');

const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < 0) throw new Error('README.md lacks the settings markers');
const next = `${readme.slice(0, a + START.length)}\n${table}\n${readme.slice(b)}`;
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md configuration table is out of date: run npm run docs');
    process.exit(1);
  }
} else writeFileSync('README.md', next);

// Entry point of the browser tests (ctest "browser: dashboard"):
//   node tests/browser/run.mjs --bin-dir build/bin --work-dir build/browser-tests --artifacts build/browser-artifacts
// 1. Skips (exit 77) with a clear message only when Chromium is not installed.
// 2. Installs playwright-core with `npm ci` into <work-dir>/node (from package-lock.json; done again
//    only when the lock file changed, so later runs need no network — npm's cache serves reinstalls).
// 3. Runs dashboard.test.mjs (node:test) against a stack it starts itself (stack.mjs).
import {spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : fallback;
}

const repo = path.resolve(here, '..', '..');
const binDir = arg('--bin-dir', path.join(repo, 'build', 'bin'));
const workDir = arg('--work-dir', path.join(path.dirname(binDir), 'browser-tests'));
const artifacts = arg('--artifacts', path.join(path.dirname(binDir), 'browser-artifacts'));
const chromium = process.env.FLEET_CHROMIUM || '/usr/bin/chromium';

if (!fs.existsSync(chromium)) {
  console.log(`SKIPPED: browser tests need Chromium at ${chromium} (Debian package "chromium"; scripts/install-deps.sh installs it)`);
  process.exit(SKIP);
}
const [major] = process.versions.node.split('.').map(Number);
if (major < 18) {
  console.log(`SKIPPED: browser tests need Node.js 18 or newer (found ${process.versions.node})`);
  process.exit(SKIP);
}
for (const name of ['api-gateway', 'discovery-worker', 'status-poller', 'miner-sim', 'fleetctl', 'pg-harness']) {
  if (!fs.existsSync(path.join(binDir, name))) {
    console.error(`missing ${path.join(binDir, name)}: build the project first`);
    process.exit(1);
  }
}

// --- npm ci into <work-dir>/node, keyed by the lock file's hash ---
const nodeDir = path.join(workDir, 'node');
fs.mkdirSync(nodeDir, {recursive: true});
const lock = fs.readFileSync(path.join(here, 'package-lock.json'));
const lockHash = crypto.createHash('sha256').update(lock).update(fs.readFileSync(path.join(here, 'package.json'))).digest('hex');
const stamp = path.join(nodeDir, '.installed-lock');
const installed = fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === lockHash &&
                  fs.existsSync(path.join(nodeDir, 'node_modules', 'playwright-core', 'package.json'));
if (!installed) {
  fs.copyFileSync(path.join(here, 'package.json'), path.join(nodeDir, 'package.json'));
  fs.copyFileSync(path.join(here, 'package-lock.json'), path.join(nodeDir, 'package-lock.json'));
  console.log(`npm ci in ${nodeDir}`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
                      {cwd: nodeDir, stdio: 'inherit', env: {...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1'}});
  if (r.status !== 0) {
    console.error('npm ci failed (the npm registry or its cache is needed once to install playwright-core)');
    process.exit(1);
  }
  fs.writeFileSync(stamp, lockHash);
}

process.env.FLEET_BROWSER_NODE_DIR = nodeDir;
process.env.FLEET_BROWSER_BIN_DIR = binDir;
process.env.FLEET_BROWSER_WORK_DIR = workDir;
process.env.FLEET_BROWSER_ARTIFACTS = artifacts;
process.env.FLEET_CHROMIUM = chromium;
await import('./dashboard.test.mjs');

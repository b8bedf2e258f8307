// Starts everything the dashboard tests need, for real, on loopback: a PostgreSQL server
// (build/bin/pg-harness, initdb on a free port + the fleet_template database with every
// migration), a test database cloned from it, users of each role (fleetctl), miner-sim with a few
// dozen Vnish miners on 127.77.0.x, discovery-worker, status-poller, telemetry-worker and the
// api-gateway. stop() ends every process group it started and the PostgreSQL server.
import {spawn, execFile} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {promisify} from 'node:util';

const execFileP = promisify(execFile);

export const PASSWORD = 'browser-test password 1';
// Random test keys: the gateway and workers refuse patterned or placeholder secrets.
export const SECRET_KEY = '3c64cd3dcd1be0433f3ed3afa6e6f01646578a2ac1568bc6f7b3a1a5318a6316';
export const MINERS = 36;
export const SIM_BASE = '127.77.0.1';
export const SIM_NETWORK = '127.77.0.0/26';

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; throws with `what` after `timeoutMs`.
export async function eventually(what, fn, timeoutMs = 30_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(everyMs);
  }
}

export class Stack {
  constructor({binDir, workDir, logDir}) {
    this.binDir = binDir;
    this.workDir = workDir;
    this.logDir = logDir;
    this.procs = [];
    this.pgState = path.join(workDir, 'pg');
    this.pgStarted = false;
  }

  bin(name) {
    return path.join(this.binDir, name);
  }

  env(extra = {}) {
    const env = {...process.env, ...extra};
    for (const k of ['POSTGRES_SERVER', 'POSTGRES_DB', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'FLEET_MINER_PASSWORD',
                     'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete env[k];
    if (this.databaseUrl) env.DATABASE_URL = this.databaseUrl;
    return env;
  }

  // A long-running process in its own process group, output to <logDir>/<name>.log.
  spawn(name, args, extraEnv = {}) {
    const log = fs.openSync(path.join(this.logDir, `${name}.log`), 'a');
    const child = spawn(this.bin(name), args, {env: this.env(extraEnv), detached: true, stdio: ['ignore', log, log]});
    fs.closeSync(log);
    const entry = {name, child, exited: null};
    child.on('exit', (code, signal) => {
      entry.exited = {code, signal};
    });
    this.procs.push(entry);
    return entry;
  }

  async run(name, args, {input, env} = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin(name), args, {env: this.env(env), stdio: ['pipe', 'pipe', 'pipe']});
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} ${args.join(' ')} exited ${code}: ${err.trim()}`))));
      child.stdin.end(input ?? '');
    });
  }

  // One SQL statement through psql; returns the unaligned output.
  async sql(statement, database = this.database) {
    const url = `postgresql://postgres@127.0.0.1:${this.pgPort}/${database}`;
    const {stdout} = await execFileP('psql', [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-t', '-A', '-c', statement],
                                     {env: this.env()});
    return stdout.trim();
  }

  async start() {
    fs.mkdirSync(this.logDir, {recursive: true});
    for (const f of fs.readdirSync(this.logDir)) if (f.endsWith('.log')) fs.rmSync(path.join(this.logDir, f));

    await this.run('pg-harness', ['start', this.pgState]);
    this.pgStarted = true;
    this.pgPort = Number(fs.readFileSync(path.join(this.pgState, 'server.state'), 'utf8').split('\n')[1]);
    this.database = `browser_${process.pid}`;
    await this.sql(`CREATE DATABASE ${this.database} TEMPLATE fleet_template`, 'postgres');
    this.databaseUrl = `postgresql://postgres@127.0.0.1:${this.pgPort}/${this.database}`;

    for (const role of ['admin', 'operator', 'viewer']) {
      await this.run('fleetctl', ['users', 'add', role, '--role', role, '--password-stdin'], {input: `${PASSWORD}\n`});
    }

    this.simPort = await freePort(SIM_BASE);
    const ready = path.join(this.workDir, 'sim.ready');
    fs.rmSync(ready, {force: true});
    this.sim = this.spawn('miner-sim', ['--count', String(MINERS), '--base-ip', SIM_BASE, '--port', String(this.simPort),
                                        '--seed', '5', '--ready-file', ready, '--threads', '1', '--init-seconds', '1']);
    await eventually('miner-sim to be ready', () => this.alive(this.sim) && fs.existsSync(ready), 30_000);
    this.simControl = fs.readFileSync(ready, 'utf8').trim();

    const workerEnv = {FLEET_SECRET_KEY: SECRET_KEY};
    const common = ['--log-format', 'text', '--set', 'firmware.request_timeout=2s', '--set', 'firmware.connect_timeout=1s'];
    this.spawn('discovery-worker', [...common, '--interval', '3', '--set', `discovery.networks=${SIM_NETWORK}`,
                                    '--set', `discovery.port=${this.simPort}`, '--set', 'discovery.manage_new=true'], workerEnv);
    this.spawn('status-poller', [...common, '--interval', '3'], workerEnv);
    if (fs.existsSync(this.bin('telemetry-worker'))) {
      this.spawn('telemetry-worker', [...common, '--interval', '5'], workerEnv);
    }
    this.gatewayPort = await freePort();
    this.gateway = this.spawn('api-gateway', ['--port', String(this.gatewayPort), '--interval', '5',
                                              '--set', `gateway.token_secret=28dc941a133e2b2d75b27b1b6686c68cf3cb0ba0c060b45c4125440fe452fd0e`,
                                              '--set', 'gateway.threads=16', '--set', 'gateway.address=127.0.0.1',
                                              '--set', 'hiveos.allow_http=true'], workerEnv);
    this.baseUrl = `http://127.0.0.1:${this.gatewayPort}`;
    await eventually('api-gateway /ready', async () => {
      this.assertAlive();
      const r = await fetch(`${this.baseUrl}/ready`);
      return r.status === 200;
    }, 30_000);
    await eventually(`${MINERS} miners discovered`, async () => {
      this.assertAlive();
      return Number(await this.sql('SELECT count(*) FROM miners')) === MINERS;
    }, 60_000, 500);
  }

  alive(entry) {
    return entry.exited === null;
  }

  // Fails fast (with the log's tail) when a service died.
  assertAlive() {
    for (const p of this.procs) {
      if (p.exited) {
        const log = path.join(this.logDir, `${p.name}.log`);
        const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
        throw new Error(`${p.name} exited (${JSON.stringify(p.exited)}):\n${tail}`);
      }
    }
  }

  // A token for API checks made beside the browser.
  async token(user) {
    const r = await fetch(`${this.baseUrl}/api/auth/login`, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                              body: JSON.stringify({username: user, password: PASSWORD})});
    if (r.status !== 200) throw new Error(`login as ${user}: HTTP ${r.status}`);
    return (await r.json()).token;
  }

  async stop() {
    // SIGTERM to every process group, then SIGKILL to what is left after 10 s.
    for (const p of this.procs) {
      if (p.exited === null) {
        try {
          process.kill(-p.child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    const deadline = Date.now() + 10_000;
    while (this.procs.some((p) => p.exited === null) && Date.now() < deadline) await sleep(100);
    for (const p of this.procs) {
      if (p.exited === null) {
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (this.pgStarted) {
      try {
        await this.run('pg-harness', ['stop', this.pgState]);
      } catch (e) {
        console.error(`pg-harness stop: ${e.message}`);
      }
      this.pgStarted = false;
    }
  }
}

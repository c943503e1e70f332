// Starts and stops real usage-monitor servers for the tests: each with its own temporary
// SQLite database (or a given one), on a free port, from the debug build in ../target.
// Temporary folders go when the test worker exits; set E2E_KEEP_TMP=1 to keep them.

import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root: the binary must run there, it reads `Leptos.toml`. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const BINARY = path.join(REPO_ROOT, 'target', 'debug', 'usage-monitor');

export interface StartOptions {
  /** Imported with `usage-monitor import` before the server starts. */
  events?: object[];
  /** Extra environment, e.g. `USAGE_MONITOR_REFRESH_SECONDS`. */
  env?: Record<string, string>;
  /** Listen on this port (to restart a server where a page expects it); default: a free one. */
  port?: number;
  /** Use this database (to restart a server on the same data); default: a new one. */
  dbUrl?: string;
  /** Create the test admin and a read token first (default); false leaves the server to
   *  print its first-admin setup link. */
  admin?: boolean;
}

/** The admin every test server has, unless started with `admin: false`. */
export const ADMIN = { email: 'admin@example.com', password: 'end-to-end admin password' };

export interface Server {
  url: string;
  port: number;
  dbUrl: string;
  /** `Authorization` for GET /api/admin/credit-stats: a `read` API token. */
  statsHeaders: Record<string, string>;
  /** Runs `usage-monitor import` against this server's database. */
  importEvents(events: object[]): Promise<void>;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

/** The environment of a usage-monitor process: ours without settings that would leak in. */
export function childEnv(dbUrl: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'DATABASE_URL' || key.startsWith('USAGE_MONITOR_') || key.startsWith('LEPTOS_')) continue;
    env[key] = value;
  }
  return { RUST_LOG: 'warn', ...env, DATABASE_URL: dbUrl, ...extra };
}

/** Temporary folders (databases, event files), removed when the test worker exits. */
const tempDirs: string[] = [];
/** Servers still running when the worker exits (a test failed hard) are stopped too. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (!exited(child)) child.kill('SIGTERM');
  if (process.env.E2E_KEEP_TMP) return;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'usage-monitor-e2e-'));
  tempDirs.push(dir);
  return dir;
}

/** A port nobody listens on right now: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('no port'));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

/** Events as JSON Lines. */
export function toJsonl(events: object[]): string {
  return events.map((event) => JSON.stringify(event)).join('\n') + '\n';
}

/** Runs `usage-monitor ARGS` on the database at `dbUrl`; resolves with its stdout, rejects
 *  with its output if it fails. */
function runCli(dbUrl: string, args: string[], env: Record<string, string>, input = ''): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      BINARY,
      args,
      { cwd: REPO_ROOT, env: childEnv(dbUrl, env), timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`usage-monitor ${args.join(' ')} failed (${error.message}):\n${stdout}${stderr}`));
        } else {
          resolve(stdout);
        }
      },
    );
    // A command that does not read its input may end before it is written: its exit
    // status, above, says whether it worked, not the closed pipe.
    child.stdin!.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin!.end(input);
  });
}

/** `usage-monitor import FILE` into the database at `dbUrl`; rejects if any line is rejected. */
export async function importEvents(
  dbUrl: string,
  events: object[],
  env: Record<string, string> = {},
): Promise<void> {
  const file = path.join(tempDir(), 'events.jsonl');
  writeFileSync(file, toJsonl(events));
  await runCli(dbUrl, ['import', file], env);
}

/** Read tokens by database, so that a server restarted on the same data keeps its token. */
const readTokens = new Map<string, string>();

/** The test admin (created once per database) and a read token for the JSON API. */
async function provision(dbUrl: string, env: Record<string, string>): Promise<string> {
  const known = readTokens.get(dbUrl);
  if (known) return known;
  await runCli(dbUrl, ['create-admin', '--email', ADMIN.email], env, ADMIN.password + '\n');
  const token = (await runCli(dbUrl, ['create-token', '--name', 'end2end', '--scope', 'read'], env)).trim();
  readTokens.set(dbUrl, token);
  return token;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startServer(options: StartOptions = {}): Promise<Server> {
  const dbUrl = options.dbUrl ?? `sqlite://${path.join(tempDir(), 'e2e.db')}`;
  const env = options.env ?? {};
  if (options.events) {
    await importEvents(dbUrl, options.events, env);
  }
  const readToken = options.admin === false ? '' : await provision(dbUrl, env);
  // Port 0 by default: the server takes a free port and names it. A port probed here
  // could be taken by another process before the server binds it.
  let port = options.port ?? 0;
  let url = `http://127.0.0.1:${port}`;

  let output = '';
  const child = spawn(BINARY, ['serve'], {
    cwd: REPO_ROOT,
    env: childEnv(dbUrl, { ...env, LEPTOS_SITE_ADDR: `127.0.0.1:${port}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const stop = async () => {
    if (exited(child)) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 10_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    }
  };

  // Ready when the login form answers 200 (the database is migrated before it listens).
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited(child)) {
      throw new Error(`usage-monitor serve exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    }
    if (port === 0) {
      const named = /usage-monitor: dashboard at http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (named) {
        port = Number(named[1]);
        url = `http://127.0.0.1:${port}`;
      }
    }
    try {
      if (port === 0) throw new Error('no port named yet');
      const response = await fetch(`${url}/login`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`usage-monitor serve did not answer on ${url} within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    port,
    dbUrl,
    statsHeaders: { Authorization: `Bearer ${readToken}` },
    importEvents: (events: object[]) => importEvents(dbUrl, events, env),
    output: () => output,
    stop,
  };
}

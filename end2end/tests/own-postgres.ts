// A PostgreSQL server of a test's own, which the test may stop and start again: `initdb`
// in a temporary folder, `pg_ctl` on a free loopback port, trust authentication. As root
// (CI), PostgreSQL refuses to run, so its programs run as the `postgres` user, who then
// owns the folder. The binaries are found with `pg_config --bindir`, or in `PG_BIN`.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { freePort, tempDir } from './server';

export interface OwnPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  /** Stops it as an administrator would (`pg_ctl stop -m fast`): sessions end. */
  stop(): void;
  /** Starts it again on the same port and data; returns once it accepts connections. */
  resume(): void;
  /** Stops it if it runs; the folder goes when the test worker exits. */
  destroy(): void;
}

const asRoot = process.getuid?.() === 0;
const running = new Set<OwnPostgres>();
process.on('exit', () => {
  for (const postgres of running) postgres.destroy();
});

function pg(bin: string, program: string, args: string[]): void {
  const [command, commandArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]]
    : [path.join(bin, program), args];
  execFileSync(command, commandArgs, { stdio: 'pipe', timeout: 60_000 });
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = process.env.PG_BIN ?? execFileSync('pg_config', ['--bindir']).toString().trim();
  const folder = tempDir();
  if (asRoot) execFileSync('chown', ['postgres:', folder]);
  const data = path.join(folder, 'data');
  const port = await freePort();
  pg(bin, 'initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const postgres: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => pg(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    resume: () => pg(bin, 'pg_ctl', ['-D', data, '-l', path.join(folder, 'log'), '-o', options, '-w', 'start']),
    destroy: () => {
      running.delete(postgres);
      try {
        pg(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running
      }
    },
  };
  postgres.resume();
  running.add(postgres);
  return postgres;
}

// A webhook receiver for the alerts the server sends (alerts.spec.ts, mobile.spec.ts).

import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A webhook receiver on a free loopback port: keeps every JSON body, answers 200. */
export class Receiver {
  readonly bodies: Record<string, unknown>[] = [];
  private server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      this.bodies.push({ ...JSON.parse(text), contentType: request.headers['content-type'], path: request.url });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });

  /** Listens; resolves with the webhook URL, whose path ends in `secret`. */
  async start(secret: string): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook/${secret}`;
  }

  of(kind: string) {
    return this.bodies.filter((body) => body.kind === kind);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

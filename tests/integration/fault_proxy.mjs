// A fault-injecting HTTP proxy for the AWS side of headcount's tests: it sits
// in front of the IVS emulator or dynalite, forwards every request unchanged
// (same method, path, headers, including the Host the client signed, and
// body, so SigV4 still verifies upstream) and, when a fault is set, answers
// some requests the way a failing AWS service would. node:http only.
//
// Faults (`proxy.set({ kind, ...})`; `proxy.clear()` switches it off):
//   throttle   answer as the service does when it throttles (IVS REST-JSON
//              429 ThrottlingException; DynamoDB JSON 1.0 400 with
//              `code` ThrottlingException or ProvisionedThroughputExceededException)
//   http5xx    `status` 500 or 503, with the service's error type
//   slow       `phase: 'headers'`: wait `delayMs` before forwarding (a client
//              that gave up meanwhile is never forwarded); `phase: 'body'`:
//              forward, send the headers and half the body, wait, send the rest
//   reset      forward, send the status, headers and half the body, then
//              destroy the connection (the upstream did the work)
//   malformed  `variant: 'truncated'` (200 and half the upstream body),
//              `'garbage'` (200 and an HTML page, not forwarded), or
//              `transform: (json, op) => json` applied to the upstream answer
//   expired    IVS 403 / DynamoDB 400 ExpiredTokenException, not forwarded;
//              with `tokens` (a list, or a predicate), only for requests
//              signed with one of those session tokens (X-Amz-Security-Token)
// Every fault takes `ops` (operation names it applies to; all when absent),
// `probability` (default 1) and `count` (how many requests at most; default
// unlimited). The random choices come from a seeded generator.
import { createServer, request as httpRequest, Agent } from 'node:http';

// Deterministic PRNG (mulberry32): the same seed gives the same choices.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DYNAMO_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const CORAL_PREFIX = 'com.amazon.coral.service#';

export class FaultProxy {
  // `target`: the upstream base URL (http://127.0.0.1:PORT). `service`:
  // 'ivs' (REST-JSON, the operation is the path) or 'dynamodb' (JSON 1.0,
  // the operation is in X-Amz-Target).
  constructor({ target, service, seed = 1 }) {
    if (service !== 'ivs' && service !== 'dynamodb') throw new Error(`unknown service ${service}`);
    this.target = new URL(target);
    this.service = service;
    this.random = mulberry32(seed);
    this.fault = null;
    this.stats = { requests: 0, faulted: 0, byOp: {} };
    this.timers = new Set();
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.keepAliveTimeout = 30000;
  }

  // Listens on a free port of 127.0.0.1; resolves to the proxy's base URL.
  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this.url;
  }

  async stop() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  set(fault) {
    this.fault = { probability: 1, count: Infinity, ...fault, left: fault.count ?? Infinity };
    this.stats = { requests: 0, faulted: 0, byOp: {} };
  }

  clear() {
    this.fault = null;
  }

  #operation(req) {
    if (this.service === 'ivs') return req.url.replace(/^\/+/, '').split(/[/?]/)[0];
    const target = req.headers['x-amz-target'] ?? '';
    return target.slice(target.indexOf('.') + 1);
  }

  // Whether this request gets the fault (uses up one of its count).
  #chosen(op, req) {
    const f = this.fault;
    if (!f || req.method !== 'POST' || req.url.startsWith('/_emulator')) return false;
    if (f.ops && !f.ops.includes(op)) return false;
    if (f.tokens) {
      const token = req.headers['x-amz-security-token'];
      if (!(typeof f.tokens === 'function' ? f.tokens(token) : f.tokens.includes(token))) return false;
    }
    if (f.left <= 0) return false;
    if (this.random() >= f.probability) return false;
    f.left -= 1;
    return true;
  }

  #later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const op = this.#operation(req);
    this.stats.requests += 1;
    this.stats.byOp[op] = (this.stats.byOp[op] ?? 0) + 1;
    const fault = this.#chosen(op, req) ? this.fault : null;
    if (fault) this.stats.faulted += 1;
    try {
      await this.#answer(fault, op, req, res, body);
    } catch (e) {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: ${e.message}`);
      } else {
        res.destroy();
      }
    }
  }

  async #answer(fault, op, req, res, body) {
    switch (fault?.kind) {
      case undefined:
        return this.#send(res, await this.#forward(req, body));
      case 'throttle':
        return this.#error(res, this.service === 'ivs' ? 429 : 400, fault.code ?? 'ThrottlingException',
          'Rate exceeded', DYNAMO_PREFIX);
      case 'http5xx': {
        const status = fault.status ?? 500;
        const code = status === 503 ? 'ServiceUnavailable' : this.service === 'ivs' ? 'InternalServerException' : 'InternalServerError';
        return this.#error(res, status, code, 'We encountered an internal error. Please try again.', DYNAMO_PREFIX);
      }
      case 'expired':
        return this.#error(res, this.service === 'ivs' ? 403 : 400, 'ExpiredTokenException',
          'The security token included in the request is expired', CORAL_PREFIX);
      case 'slow':
        if (fault.phase === 'body') {
          const up = await this.#forward(req, body);
          const half = Math.floor(up.body.length / 2);
          res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
          res.write(up.body.subarray(0, half));
          this.#later(fault.delayMs, () => { if (!res.destroyed) res.end(up.body.subarray(half)); });
          return undefined;
        }
        await new Promise((resolve) => this.#later(fault.delayMs, resolve));
        if (req.socket.destroyed || res.destroyed) return undefined;  // the client gave up: never forwarded
        return this.#send(res, await this.#forward(req, body));
      case 'reset': {
        const up = await this.#forward(req, body);
        // Raw bytes: a 204 cannot carry a body through node's response API.
        const length = up.body.length || 64;
        const head = [`HTTP/1.1 ${up.status === 204 ? 200 : up.status} Fault`];
        for (const [k, v] of Object.entries(up.headers)) {
          if (!['content-length', 'transfer-encoding', 'connection'].includes(k)) head.push(`${k}: ${v}`);
        }
        head.push(`content-length: ${length}`, '', '');
        req.socket.write(head.join('\r\n'));
        req.socket.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
        req.socket.destroy();
        return undefined;
      }
      case 'malformed': {
        if (fault.variant === 'garbage') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html><body>502 Bad Gateway</body></html>');
        }
        const up = await this.#forward(req, body);
        if (fault.variant === 'truncated') {
          return this.#send(res, { ...up, status: 200, body: up.body.subarray(0, Math.floor(up.body.length / 2)) });
        }
        if (!fault.transform || up.status >= 300 || up.body.length === 0) return this.#send(res, up);
        const json = fault.transform(JSON.parse(up.body.toString('utf8')), op);
        return this.#send(res, { ...up, body: Buffer.from(JSON.stringify(json)) });
      }
      default:
        throw new Error(`unknown fault ${fault.kind}`);
    }
  }

  // The service's error answer: REST-JSON (header + body) for IVS, JSON 1.0
  // (__type in the body) for DynamoDB.
  #error(res, status, code, message, dynamoPrefix) {
    if (this.service === 'ivs') {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': code });
      return res.end(JSON.stringify({ message, exceptionMessage: message }));
    }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    return res.end(JSON.stringify({ __type: `${dynamoPrefix}${code}`, message }));
  }

  #send(res, up) {
    const headers = { ...up.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    headers['content-length'] = String(up.body.length);
    if (up.status === 204) delete headers['content-length'];
    res.writeHead(up.status, headers);
    res.end(up.status === 204 ? undefined : up.body);
  }

  // Sends the request upstream unchanged; resolves to { status, headers, body }.
  #forward(req, body) {
    return new Promise((resolve, reject) => {
      const up = httpRequest({
        host: this.target.hostname, port: this.target.port, method: req.method, path: req.url,
        headers: req.headers, agent: this.agent,
      }, (r) => {
        const parts = [];
        r.on('data', (c) => parts.push(c));
        r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body: Buffer.concat(parts) }));
        r.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }
}

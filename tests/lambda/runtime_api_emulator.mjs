// A small AWS Lambda Runtime API emulator for tests (Node, no dependencies):
// hands out queued invocations (an EventBridge scheduled event by default) to
// GET /2018-06-01/runtime/invocation/next, holding the long poll open while
// the queue is empty; records responses, errors and init errors; a response
// after the invocation's deadline is recorded as timed out (and refused).
// Use it as a module (RuntimeApiEmulator) or run it:
//   node runtime_api_emulator.mjs [--invocations N] [--deadline-ms MS] [--port P]
// which prints "listening on 127.0.0.1:<port>" and serves GET /_emulator/state.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const PREFIX = '/2018-06-01/runtime';
// Bounds a posted body, like Lambda's 6 MB synchronous payload limit.
const MAX_BODY_BYTES = 6 * 1024 * 1024;

// The event EventBridge sends for a `rate(1 minute)` rule.
export function scheduledEvent(region = 'us-west-2') {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:123456789012:rule/headcount-tick`],
    detail: {},
  };
}

export class RuntimeApiEmulator {
  // deadlineMs: each invocation's time limit (Lambda-Runtime-Deadline-Ms = now + deadlineMs
  // when it is handed out).
  constructor({ deadlineMs = 30000, functionArn = 'arn:aws:lambda:us-west-2:123456789012:function:headcount' } = {}) {
    this.deadlineMs = deadlineMs;
    this.functionArn = functionArn;
    this.queue = [];       // invocations not yet handed out
    this.waiters = [];     // held GET /next responses
    this.invocations = []; // handed out: { requestId, deadline, event, handedOutAt }
    this.responses = [];   // { requestId, body, json, ms }
    this.errors = [];      // { requestId, body, json, errorType }
    this.initErrors = [];  // { body, json, errorType }
    this.timedOut = [];    // { requestId, kind, lateByMs }
    this.listeners = new Set();
    this.connections = 0;  // TCP connections accepted (a warm client reuses one)
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', () => { this.connections += 1; });
  }

  // Listens on 127.0.0.1 and returns "host:port" (AWS_LAMBDA_RUNTIME_API).
  async start(port = 0) {
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${this.server.address().port}`;
    return this.address;
  }

  async close() {
    for (const w of this.waiters) w.destroy();
    this.waiters = [];
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  // Queues `count` invocations. `deadlineMs` overrides the default time limit;
  // `headers` adds or replaces (undefined removes) headers of /next's answer.
  invoke(count = 1, { deadlineMs = this.deadlineMs, event, headers = {} } = {}) {
    for (let i = 0; i < count; i++) {
      this.queue.push({ requestId: randomUUID(), deadlineMs, event: event ?? scheduledEvent(), headers });
    }
    this.#dispatch();
  }

  // Resolves once `predicate(this)` holds; rejects after `timeoutMs`.
  waitUntil(what, predicate, timeoutMs = 30000) {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`runtime API emulator: timed out after ${timeoutMs} ms waiting for ${what}; state: ${JSON.stringify(this.state())}`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  // Everything recorded, as plain data.
  state() {
    return {
      queued: this.queue.length, connections: this.connections, invocations: this.invocations, responses: this.responses,
      errors: this.errors, initErrors: this.initErrors, timedOut: this.timedOut,
    };
  }

  #changed() {
    for (const l of [...this.listeners]) l();
  }

  #dispatch() {
    while (this.queue.length > 0 && this.waiters.length > 0) {
      const res = this.waiters.shift();
      if (res.destroyed || res.writableEnded) continue;
      const inv = this.queue.shift();
      const deadline = Date.now() + inv.deadlineMs;
      const headers = {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': inv.requestId,
        'Lambda-Runtime-Deadline-Ms': String(deadline),
        'Lambda-Runtime-Invoked-Function-Arn': this.functionArn,
        'Lambda-Runtime-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
      };
      for (const [k, v] of Object.entries(inv.headers)) {
        if (v === undefined) delete headers[k];
        else headers[k] = v;
      }
      this.invocations.push({ requestId: inv.requestId, deadline, event: inv.event, handedOutAt: Date.now() });
      res.writeHead(200, headers);
      res.end(JSON.stringify(inv.event));
      this.#changed();
    }
  }

  #handle(req, res) {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reply(res, 413, { errorMessage: 'payload too large', errorType: 'RequestEntityTooLarge' });
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      this.#route(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  }

  #route(req, res, body) {
    const path = new URL(req.url, 'http://x').pathname;
    let m;
    if (req.method === 'GET' && path === '/_emulator/state') return reply(res, 200, this.state());
    if (req.method === 'GET' && path === `${PREFIX}/invocation/next`) {
      this.waiters.push(res);
      res.on('close', () => { this.waiters = this.waiters.filter((w) => w !== res); });
      return this.#dispatch();
    }
    if (req.method === 'POST' && path === `${PREFIX}/init/error`) {
      this.initErrors.push({ body, json: parseJson(body), errorType: req.headers['lambda-runtime-function-error-type'] });
      this.#changed();
      return reply(res, 202, { status: 'OK' });
    }
    if (req.method === 'POST' && (m = path.match(new RegExp(`^${PREFIX}/invocation/([^/]+)/(response|error)$`)))) {
      const [, requestId, kind] = m;
      const inv = this.invocations.find((i) => i.requestId === requestId);
      if (!inv) return reply(res, 400, { errorMessage: `unknown request id ${requestId}`, errorType: 'InvalidRequestID' });
      if (this.responses.some((r) => r.requestId === requestId) || this.errors.some((e) => e.requestId === requestId)) {
        return reply(res, 400, { errorMessage: 'already answered', errorType: 'InvalidStateTransition' });
      }
      const now = Date.now();
      if (now > inv.deadline) {
        this.timedOut.push({ requestId, kind, lateByMs: now - inv.deadline });
        this.#changed();
        return reply(res, 410, { errorMessage: 'Task timed out', errorType: 'Sandbox.Timedout' });
      }
      const entry = { requestId, body, json: parseJson(body), ms: now - inv.handedOutAt };
      if (kind === 'response') this.responses.push(entry);
      else this.errors.push({ ...entry, errorType: req.headers['lambda-runtime-function-error-type'] });
      this.#changed();
      return reply(res, 202, { status: 'OK' });
    }
    return reply(res, 404, { errorMessage: `no route for ${req.method} ${path}`, errorType: 'NotFound' });
  }
}

function reply(res, status, json) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(json));
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const emulator = new RuntimeApiEmulator({ deadlineMs: arg('--deadline-ms', 30000) });
  const address = await emulator.start(arg('--port', 0));
  emulator.invoke(arg('--invocations', 1));
  console.log(`listening on ${address}`);
  process.on('SIGTERM', async () => {
    await emulator.close();
    process.exit(0);
  });
}

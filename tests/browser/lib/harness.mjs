// The suite's machinery: the demo daemon, the per-person browsers (each presenting its own
// client certificate from its own NSS database), the managed policy that picks the certificate,
// screenshots, axe-core, waits that fail on a deadline, and the ok/FAIL report.

import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import https from 'node:https';

const require = createRequire(import.meta.url);
let chromium;
let AXE_SOURCE;
try {
  ({ chromium } = require('playwright-core'));
  AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (err) {
  console.error(`the suite's npm packages are missing (${err.message.split('\n')[0]}): run \`npm ci\` in tests/browser (tests/install.sh does)`);
  process.exit(2);
}

export const POLICY_DIR = '/etc/chromium/policies/managed';
export const POLICY_FILE = path.join(POLICY_DIR, 'takedown-browser-suite.json');
export const CHROMIUM = '/usr/bin/chromium';
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// ---------------------------------------------------------------------------------------------
// Hashes and small utilities.

export const sha1 = (bytes) => crypto.createHash('sha1').update(bytes).digest('hex');
export const md5 = (bytes) => crypto.createHash('md5').update(bytes).digest('hex');
export const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/** Random bytes behind a JPEG header: an "image" no one has seen before. */
export function freshImage(size = 4096) {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF'), crypto.randomBytes(size)]);
}

const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);

/** An error whose message is a full explanation for the report. */
export class CheckError extends Error {}

/** Throws CheckError(message) unless `condition`. */
export function expect(condition, message) {
  if (!condition) throw new CheckError(typeof message === 'function' ? message() : message);
}

/**
 * Polls `probe` (sync or async; a truthy result ends the wait) every `every` ms until
 * `timeout` ms have passed; then throws with `describe()` (or the last probe error).
 */
export async function until(probe, { timeout = 10_000, every = 100, describe = () => 'condition not met' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = await describe();
      throw new CheckError(`${why} (waited ${timeout} ms)${lastError ? `; last error: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/**
 * Starts waiting for the page's next navigation; `await` the returned function after the action
 * that causes it. A navigation the browser aborts becomes a CheckError, never an unhandled
 * rejection.
 */
export function expectNavigation(page, timeout = 30_000) {
  const outcome = page.waitForNavigation({ waitUntil: 'load', timeout }).then(
    (response) => ({ response }),
    (error) => ({ error }),
  );
  return async () => {
    const { response, error } = await outcome;
    if (error) throw new CheckError(`no page loaded: ${error.message.split('\n')[0]} (the browser is at ${page.url()})`);
    return response;
  };
}

/** Rejects after `ms` with a message naming `what`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`${what}: did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The report.

export class Report {
  constructor() {
    this.passed = 0;
    this.failed = 0;
    this.failures = [];
  }

  ok(name) {
    this.passed += 1;
    console.log(`ok   ${name}`);
  }

  fail(name, why, details = []) {
    this.failed += 1;
    const text = why instanceof Error ? (why instanceof CheckError ? why.message : `${why.name}: ${why.message}`) : String(why);
    const [first, ...rest] = text.split('\n');
    console.log(`FAIL ${name}: ${first}`);
    for (const line of [...rest, ...details]) console.log(`       ${line}`);
    this.failures.push({ name, why: text, details });
  }

  summary() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
  }
}

// ---------------------------------------------------------------------------------------------
// The suite's world: daemon, browsers, pages.

export class World {
  constructor({ binary, out, listen, keep, report, axe }) {
    this.binary = binary;
    this.out = out;
    this.listen = listen;
    this.keep = keep;
    this.report = report;
    this.axeEnabled = axe;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'takedown-browser-'));
    this.demoDir = path.join(this.tmp, 'demo');
    this.contexts = new Map();
    this.shots = 0;
    this.stdout = '';
    this.stderr = '';
    this.cspViolations = [];
    this.lastPage = null;
    this.children = [];
    this.servers = [];
  }

  // --- the daemon ----------------------------------------------------------------------------

  /** Starts `BINARY demo` and waits for its `ready` line. */
  async start() {
    const child = spawn(this.binary, ['demo', '--dir', this.demoDir, '--listen', this.listen], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.daemon = child;
    this.children.push(child);
    child.stdout.on('data', (chunk) => { this.stdout += chunk; });
    child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    let exited = null;
    child.on('exit', (code, signal) => { exited = { code, signal }; });
    const match = await until(() => {
      if (exited) throw new CheckError(`the demo exited (${JSON.stringify(exited)}) before it was ready: ${this.stderr.slice(-2000)}`);
      return this.stdout.match(/^ready (https:\/\/127\.0\.0\.1:(\d+))\/$/m);
    }, { timeout: 60_000, describe: () => `the demo never printed "ready https://127.0.0.1:PORT/"; stdout: ${this.stdout.slice(0, 500)} stderr: ${this.stderr.slice(-1500)}` });
    this.origin = match[1];
    this.port = Number(match[2]);
    const pki = path.join(this.demoDir, 'pki');
    this.password = fs.readFileSync(path.join(pki, 'p12-password'), 'utf8').trim();
    this.staffCa = path.join(pki, 'ca.crt');
    this.peersCa = path.join(this.demoDir, 'peers', 'ca.crt');
    this.counselIdentity = path.join(this.demoDir, 'keys', 'legal-counsel-identity');
    this.writePolicy();
  }

  /** The managed policy that lets headless Chromium present the certificate for our origin. */
  writePolicy() {
    fs.mkdirSync(POLICY_DIR, { recursive: true });
    const rule = JSON.stringify({ pattern: this.origin, filter: {} });
    fs.writeFileSync(POLICY_FILE, `${JSON.stringify({ AutoSelectCertificateForUrls: [rule] })}\n`);
  }

  url(pathname) {
    return `${this.origin}${pathname}`;
  }

  /** The lines of a simulated service's journal (`peers/<service>.jsonl`). */
  journal(service, endpoint) {
    const file = path.join(this.demoDir, 'peers', `${service}.jsonl`);
    if (!fs.existsSync(file)) return [];
    const entries = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    return endpoint ? entries.filter((e) => e.endpoint === endpoint) : entries;
  }

  /**
   * Switches a simulated service's behaviour through the demo's control surface
   * (tests/peers/src/control.rs): `what` is `fault` or `groups`. The port is the one the demo
   * printed; the host name is the service's made-up one, over TLS with the peers' CA.
   */
  async peerControl(service, what, body) {
    const ports = Object.fromEntries(
      [...this.stdout.matchAll(/\b(lumen|ncmec|salesforce|wiki) (\d+)\b/g)].map((m) => [m[1], Number(m[2])]),
    );
    const port = ports[service];
    expect(port, () => `the demo did not print the port of the simulated ${service}: ${excerpt(this.stdout)}`);
    const host = { lumen: 'lumen.test', ncmec: 'ncmec.test', salesforce: 'login.salesforce.test', wiki: 'meta.wiki.test' }[service];
    const payload = JSON.stringify(body);
    const answer = await new Promise((resolve, reject) => {
      const request = https.request({
        host: '127.0.0.1',
        port,
        servername: host,
        ca: fs.readFileSync(this.peersCa),
        method: 'POST',
        path: `/_peers/${what}`,
        headers: { host: `${host}:${port}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: 10_000,
      }, (response) => {
        let text = '';
        response.on('data', (chunk) => { text += chunk; });
        response.on('end', () => resolve({ status: response.statusCode, text }));
      });
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.end(payload);
    });
    expect(answer.status === 200, () => `the simulated ${service} refused the control ${what}: ${answer.status} ${answer.text}`);
  }

  // --- browsers ------------------------------------------------------------------------------

  /** A throw-away HOME whose NSS database holds `login`'s certificate and trusts both CAs. */
  nssHome(login) {
    const home = path.join(this.tmp, `home-${login}`);
    const db = path.join(home, '.pki', 'nssdb');
    if (fs.existsSync(db)) return home;
    fs.mkdirSync(db, { recursive: true });
    const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    run('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
    run('pk12util', ['-i', path.join(this.demoDir, 'pki', 'staff', `${login}.p12`), '-d', `sql:${db}`, '-W', this.password]);
    run('certutil', ['-A', '-n', 'takedown-demo-staff-ca', '-t', 'C,,', '-i', this.staffCa, '-d', `sql:${db}`]);
    run('certutil', ['-A', '-n', 'takedown-simulated-services-ca', '-t', 'C,,', '-i', this.peersCa, '-d', `sql:${db}`]);
    return home;
  }

  /**
   * The browser of `login`: a persistent Chromium context with its own HOME (so its own NSS
   * database and certificate). The browser's TLS stack presents the certificate; no proxy.
   */
  async browser(login) {
    if (this.contexts.has(login)) return this.contexts.get(login);
    const home = this.nssHome(login);
    const context = await chromium.launchPersistentContext(path.join(home, 'profile'), {
      executablePath: CHROMIUM,
      env: { ...process.env, HOME: home },
      args: [
        '--no-sandbox',
        '--host-resolver-rules=MAP *.test 127.0.0.1',
        '--disable-quic',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // CSP stays enforced (bypassCSP off): axe is injected through the DevTools protocol
      // (page.evaluate), which the page's CSP does not govern, so a CSP that blocks a form
      // (form-action) still fails the suite as it would fail a person.
      bypassCSP: false,
      acceptDownloads: true,
      viewport: { width: 1200, height: 900 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(30_000);
    const watch = (page) => {
      page.on('console', (message) => {
        const text = message.text();
        if (/Content Security Policy/i.test(text)) {
          this.cspViolations.push({ login, url: page.url(), text });
        }
      });
    };
    context.pages().forEach(watch);
    context.on('page', watch);
    // Chromium reads the managed policy in the background after it starts; a navigation to our
    // origin before it has the policy has no certificate picked and waits for a choice no one
    // can make headless. Wait until chrome://policy lists the policy.
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto('chrome://policy');
    await until(async () => (await page.getByText('AutoSelectCertificateForUrls').count()) > 0, {
      timeout: 15_000,
      describe: () => `${login}'s Chromium does not list the AutoSelectCertificateForUrls policy at chrome://policy (${POLICY_FILE})`,
    });
    // Now and then a fresh headless Chromium aborts its first handshakes (the server asked for a
    // certificate; the daemon logs "tls handshake eof") and then never opens the connection that
    // presents it: the first navigation hangs with no further traffic. A second navigation goes
    // through. So the first request of each browser (the stylesheet, which every certificate the
    // CA issued may fetch) is retried after a stall, and each stall is reported.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await page.goto(this.url('/static/style.css'), { timeout: 10_000 });
        break;
      } catch (err) {
        const first = err.message.split('\n')[0];
        if (/net::ERR_/.test(first)) break; // Refused (the revoked certificate): settled too.
        if (attempt === 3) throw new CheckError(`${login}'s Chromium never completed its first request: ${first}`);
        const daemon = this.stderr.trim().split('\n').slice(-2).map((l) => l.replace(/^\S+\s+/, '').slice(0, 120)).join(' / ');
        console.log(`       note: ${login}'s Chromium stalled on its first request (${first}); trying again. The daemon's last words: ${daemon}`);
      }
    }
    const entry = { login, context, home };
    this.contexts.set(login, entry);
    return entry;
  }

  /** A page in `login`'s browser (the first tab, reused). */
  async page(login) {
    const { context } = await this.browser(login);
    const existing = context.pages().find((p) => !p.isClosed());
    return existing ?? context.newPage();
  }

  // --- what a step does on a page -------------------------------------------------------------

  /** Opens `pathname` (or a full URL) and records the page (screenshot and axe). */
  async goto(page, target, name, { axe = true } = {}) {
    const response = await page.goto(target.startsWith('http') ? target : this.url(target), { waitUntil: 'load' });
    await this.visit(page, name, { axe });
    return response;
  }

  /**
   * Clicks `locator` (a submit button) and waits for the navigation it causes; then records
   * the page. Returns the main response.
   */
  async submit(page, locator, name, { timeout = 30_000, axe = true } = {}) {
    // The rejection is handled at once: a navigation the browser aborts (a CSP refusal) must
    // fail this step, not the process.
    const navigation = page.waitForNavigation({ waitUntil: 'load', timeout }).then(
      (response) => ({ response }),
      (err) => ({ error: err }),
    );
    await locator.click({ timeout: 15_000 });
    const { response, error } = await navigation;
    if (error) throw new CheckError(`clicking did not load a page: ${error.message.split('\n')[0]} (the browser is at ${page.url()})`);
    await this.visit(page, name, { axe });
    return response;
  }

  /** A full-page screenshot named by step, and (on the appliance's pages) axe-core. */
  async visit(page, name, { axe = true } = {}) {
    this.lastPage = page;
    this.shots += 1;
    const file = `${String(this.shots).padStart(3, '0')}-${slug(name)}.png`;
    try {
      await page.screenshot({ path: path.join(this.out, file), fullPage: true, timeout: 15_000 });
    } catch (err) {
      console.log(`       (screenshot ${file} failed: ${err.message.split('\n')[0]})`);
    }
    if (axe && this.axeEnabled && page.url().startsWith(this.origin)) await this.axe(page, name, file);
    return file;
  }

  /** Runs axe-core's WCAG 2.0/2.1 A and AA rules on the page: one check per page visited. */
  async axe(page, name, file) {
    const check = `axe WCAG 2.1 A/AA: ${name} (${new URL(page.url()).pathname}, ${file})`;
    try {
      const result = await withTimeout((async () => {
        const present = await page.evaluate(() => typeof window.axe === 'object');
        if (!present) await page.evaluate(AXE_SOURCE);
        return page.evaluate((tags) => window.axe.run(document, {
          runOnly: { type: 'tag', values: tags },
          resultTypes: ['violations'],
        }).then((r) => r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary || '').split('\n').slice(0, 3).join(' | ') })),
        }))), AXE_TAGS);
      })(), 30_000, 'axe-core');
      if (result.length === 0) {
        this.report.ok(check);
        return;
      }
      const details = [];
      for (const v of result) {
        details.push(`${v.id} (${v.impact}): ${v.help} — ${v.helpUrl}`);
        for (const node of v.nodes.slice(0, 12)) details.push(`    ${node.target}  [${node.summary}]`);
        if (v.nodes.length > 12) details.push(`    … and ${v.nodes.length - 12} more`);
      }
      this.report.fail(check, `${result.length} violation(s): ${result.map((v) => v.id).join(', ')}`, details);
    } catch (err) {
      this.report.fail(check, err);
    }
  }

  /** The visible text of the page's body. */
  async text(page) {
    return page.locator('body').innerText({ timeout: 10_000 });
  }

  /** Waits until the page says `what` (a string or a RegExp); fails with what it says instead. */
  async says(page, what, { timeout = 10_000, within = 'body' } = {}) {
    let last = '';
    return until(async () => {
      last = await page.locator(within).first().innerText({ timeout: 2_000 });
      return typeof what === 'string' ? last.includes(what) : what.test(last);
    }, {
      timeout,
      describe: () => `${page.url()} does not say ${JSON.stringify(String(what))}${within === 'body' ? '' : ` in ${within}`}; it says: ${excerpt(last)}`,
    });
  }

  /** Fails if the page says `what`. */
  async doesNotSay(page, what, { within = 'body' } = {}) {
    const text = await page.locator(within).first().innerText({ timeout: 5_000 });
    const found = typeof what === 'string' ? text.includes(what) : what.test(text);
    expect(!found, () => `${page.url()} says ${JSON.stringify(String(what))}, which it must not: ${excerpt(text)}`);
  }

  /** A tiny HTTP server on another local origin (the "other site"). */
  async otherSite(handler) {
    const http = await import('node:http');
    const server = http.createServer(handler);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    return server.address().port;
  }

  /** Closes the browsers, stops the daemon and the servers, removes the policy. */
  async stop() {
    for (const { context } of this.contexts.values()) {
      await withTimeout(context.close(), 15_000, 'closing a browser').catch(() => {});
    }
    this.contexts.clear();
    for (const server of this.servers) server.close();
    stopChildren(this.children);
    removePolicy();
    if (!this.keep) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

export function excerpt(text, max = 700) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function removePolicy() {
  try {
    fs.rmSync(POLICY_FILE, { force: true });
  } catch {
    // Nothing to remove.
  }
}

export function stopChildren(children) {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Flows: steps that run in order; a failed step blocks the later ones of its flow (reported as
// failed, "not run") unless they are marked independent. A step marked `soft` does not block.

export async function flow(world, title, steps) {
  let blockedBy = null;
  for (const step of steps) {
    const [name, fn, options = {}] = step;
    const full = `${title}: ${name}`;
    if (blockedBy && !options.independent) {
      world.report.fail(full, `not run: blocked by the failed step "${blockedBy}"`);
      continue;
    }
    const started = Date.now();
    try {
      const note = await withTimeout(Promise.resolve().then(fn), options.timeout ?? 45_000, full);
      world.report.ok(`${full} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      if (typeof note === 'string') console.log(`       note: ${note}`);
    } catch (err) {
      let details = [];
      if (world.lastPage && !world.lastPage.isClosed()) {
        const file = await world.visit(world.lastPage, `FAILED ${title} ${name}`, { axe: false }).catch(() => null);
        if (file) details = [`screenshot of the page at the failure: ${file} (${world.lastPage.url()})`];
      }
      world.report.fail(full, err, details);
      if (!options.soft) blockedBy = name;
    }
  }
}

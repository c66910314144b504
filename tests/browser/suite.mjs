#!/usr/bin/env node
// Takedown in a real browser: Debian's Chromium, driven by playwright-core, presents each demo
// staff certificate through its own TLS stack (NSS database + managed policy) and clicks
// through every workflow, asserting what each page says, keeping a full-page screenshot of
// every page and running axe-core (WCAG 2.1 A/AA) on each.
//
//   node tests/browser/suite.mjs --binary target/release/takedown --out target/browser
//
// Prints one `ok …` / `FAIL …` line per check and ends with `N passed, M failed`; exits 0 only
// when every check passed. See tests/browser/README.md.

import fs from 'node:fs';
import path from 'node:path';
import { World, Report, flow, expect, removePolicy, stopChildren, excerpt } from './lib/harness.mjs';
import { arrivalFlows, refusalFlows } from './flows/refusals.mjs';
import { dmcaFlows } from './flows/dmca.mjs';
import { childProtectionFlows } from './flows/cp.mjs';
import { exportFlows } from './flows/export.mjs';
import { auditFlows } from './flows/audit.mjs';

const USAGE = `usage: node tests/browser/suite.mjs --binary PATH/takedown --out DIR
       [--listen ADDR (default 127.0.0.1:0)] [--keep (keep the scratch directory)]
       [--only REGEX (flows whose name matches)] [--no-axe]`;

function parseArgs(argv) {
  const args = { listen: '127.0.0.1:0', keep: false, axe: true, only: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--binary') args.binary = value();
    else if (arg === '--out') args.out = value();
    else if (arg === '--listen') args.listen = value();
    else if (arg === '--only') args.only = new RegExp(value(), 'i');
    else if (arg === '--keep') args.keep = true;
    else if (arg === '--no-axe') args.axe = false;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!args.binary || !args.out) throw new Error('--binary and --out are required');
  return args;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (process.getuid && process.getuid() !== 0) {
  console.error('the suite writes a managed Chromium policy under /etc/chromium/policies/managed: run it as root');
  process.exit(2);
}

const binary = path.resolve(args.binary);
const out = path.resolve(args.out);
fs.mkdirSync(out, { recursive: true });
for (const old of fs.readdirSync(out)) if (old.endsWith('.png')) fs.rmSync(path.join(out, old));

const report = new Report();
const world = new World({ binary, out, listen: args.listen, keep: args.keep, report, axe: args.axe });

// Whatever happens, the policy file goes and the daemons stop.
let stopping = false;
function emergencyStop(code) {
  if (stopping) return;
  stopping = true;
  removePolicy();
  stopChildren(world.children);
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { console.log(`stopped by ${signal}`); emergencyStop(130); });
process.on('uncaughtException', (err) => { console.log(`FAIL the suite itself: ${err.stack}`); report.failed += 1; emergencyStop(1); });
process.on('exit', () => { removePolicy(); stopChildren(world.children); });

const SUITE_DEADLINE_MS = 9 * 60_000;
const watchdog = setTimeout(() => {
  console.log(`FAIL the whole suite: still running after ${SUITE_DEADLINE_MS / 60_000} minutes`);
  report.failed += 1;
  report.summary();
  emergencyStop(1);
}, SUITE_DEADLINE_MS);
watchdog.unref();

const started = Date.now();
const flows = [
  ['Arrival', arrivalFlows],
  ['DMCA', dmcaFlows],
  ['Child protection', childProtectionFlows],
  ['Exporter', exportFlows],
  ['Auditor', auditFlows],
  ['Refusals', refusalFlows],
];

try {
  await flow(world, 'Setup', [
    ['the demo starts and says where it listens', () => world.start(), { timeout: 70_000 }],
    ['dmca-agent\'s Chromium presents its certificate through its own TLS stack', async () => {
      const page = await world.page('dmca-agent');
      const response = await page.goto(world.url('/'));
      expect(response.status() === 200, `answered ${response.status()}`);
      await world.says(page, 'You are signed in by certificate');
      await world.says(page, 'Dana Mercer');
    }, { timeout: 60_000 }],
  ]);
  if (report.failed === 0) {
    for (const [name, run] of flows) {
      if (args.only && !args.only.test(name)) continue;
      try {
        await run(world);
      } catch (err) {
        report.fail(`${name} (the flow itself)`, err);
      }
    }
    world.lastPage = null;
    await flow(world, 'Browser', [
      ['no page reported a Content-Security-Policy violation in the console', () => {
        const seen = world.cspViolations;
        expect(seen.length === 0, `${seen.length} violation(s):\n${seen.map((v) => `${v.login} at ${v.url}: ${excerpt(v.text, 300)}`).join('\n')}`);
      }],
    ]);
  }
} catch (err) {
  report.fail('the suite itself', err);
} finally {
  const log = path.join(out, 'daemon.stderr.txt');
  fs.writeFileSync(log, world.stderr);
  fs.writeFileSync(path.join(out, 'daemon.stdout.txt'), world.stdout);
  await world.stop().catch((err) => console.log(`(cleanup: ${err.message})`));
}

console.log(`screenshots and the daemon's output in ${out}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (args.keep) console.log(`scratch directory kept: ${world.tmp}`);
report.summary();
process.exit(report.failed === 0 ? 0 : 1);

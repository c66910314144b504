// What each person sees on arrival, and refusals as a person meets them: no roster entry, a
// revoked certificate, another role's page, a form posted from another site, a form carrying a
// foreign, stale or misplaced CSRF token.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { flow, expect, until, excerpt, stopChildren } from '../lib/harness.mjs';

/** The names and roles on each person's home page (src/demo/mod.rs). */
const PEOPLE = [
  ['dmca-agent', 'Dana Mercer', 'dmca'],
  ['cp-agent', 'Chris Okafor', 'child-protection'],
  ['approver', 'Alex Rivera', 'approver'],
  ['auditor', 'Ada Lindqvist', 'auditor'],
  ['exporter', 'Eli Novak', 'exporter'],
];

export async function arrivalFlows(world) {
  const state = {};
  await flow(world, 'Arrival', PEOPLE.map(([login, name, role]) => [
    `${login} sees their name and role on the home page`,
    async () => {
      const page = await world.page(login);
      await world.goto(page, '/', `${login} home`);
      await world.says(page, `${name} (${login})`, { within: 'header' });
      await world.says(page, role, { within: 'header .role' });
      const roster = await page.getByRole('link', { name: 'Staff roster' }).count();
      expect((roster > 0) === (login === 'auditor'), `the "Staff roster" link is ${roster ? 'offered' : 'missing'} for ${login}`);
    },
    { independent: true },
  ]).concat([
    ['the case log shows each person only the kinds their roles open', async () => {
      const exporter = await world.page('exporter');
      await world.goto(exporter, '/cases', 'exporter case log (samples)');
      await world.says(exporter, 'Child protection');
      await world.says(exporter, 'DMCA');
      const dmca = await world.page('dmca-agent');
      await world.goto(dmca, '/cases', 'dmca-agent case log (samples)');
      await world.says(dmca, 'DMCA', { within: 'table' });
      // Nothing about the cases the role does not open, not even how many there are.
      await world.doesNotSay(dmca, /more case|roles do not open/);
      await world.doesNotSay(dmca, 'Child protection', { within: 'table' });
      const approver = await world.page('approver');
      await world.goto(approver, '/cases', 'approver case log (samples)');
      await world.says(approver, 'Child protection');
      state.cpSample = (await approver.locator('a[href^="/cases/"]').first().getAttribute('href'));
      state.dmcaSample = (await dmca.locator('a[href^="/cases/"]').first().getAttribute('href'));
    }, { independent: true }],
    ['the sample cases open to their readers: the DMCA steps, the approval, the export, the auditor\'s notice', async () => {
      const dmca = await world.page('dmca-agent');
      await world.goto(dmca, state.dmcaSample, 'dmca-agent sample DMCA case');
      expect(await dmca.locator('tr[data-step="lumen"]').count() === 1, 'no Lumen step on the DMCA case');
      const approver = await world.page('approver');
      await world.goto(approver, state.cpSample, 'approver sample child-protection case');
      await world.says(approver, 'Approve the release to NCMEC');
      const exporter = await world.page('exporter');
      await world.goto(exporter, state.cpSample, 'exporter sample child-protection case');
      await world.says(exporter, 'Download encrypted export');
      const auditor = await world.page('auditor');
      await world.goto(auditor, state.cpSample, 'auditor sample child-protection case');
      await world.says(auditor, 'Your viewing of this page is recorded');
      await world.doesNotSay(auditor, 'Download encrypted export');
    }],
  ]));
}

/** GETs `pathname` from a daemon with a PEM client certificate (not a browser). */
function getWithCertificate(origin, pathname, dir, login) {
  return new Promise((resolve, reject) => {
    const request = https.get(`${origin}${pathname}`, {
      ca: fs.readFileSync(path.join(dir, 'pki', 'ca.crt')),
      cert: fs.readFileSync(path.join(dir, 'pki', 'staff', `${login}.crt`)),
      key: fs.readFileSync(path.join(dir, 'pki', 'staff', `${login}.key`)),
      timeout: 15_000,
    }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('timed out')));
  });
}

/** A CSRF token that an earlier run of the daemon issued to `login` (another key: stale). */
async function tokenFromAnotherRun(world, login) {
  const dir = path.join(world.tmp, 'earlier-run');
  const child = spawn(world.binary, ['demo', '--dir', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  world.children.push(child);
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  try {
    const origin = (await until(() => out.match(/^ready (https:\/\/127\.0\.0\.1:\d+)\/$/m), { timeout: 60_000, describe: () => 'the second demo never became ready' }))[1];
    const home = await getWithCertificate(origin, '/', dir, login);
    const token = home.match(/name="csrf_token" value="([^"]+)"/)?.[1];
    expect(token, `the earlier run's home page has no CSRF token: ${excerpt(home, 300)}`);
    return token;
  } finally {
    stopChildren([child]);
  }
}

/** How many denied DMCA cases the dmca-agent's case log lists. */
async function deniedCount(world, name) {
  const page = await world.page('dmca-agent');
  await world.goto(page, '/cases?kind=dmca&decision=denied', name);
  return page.locator('main a[href^="/cases/"]').count();
}

export async function refusalFlows(world) {
  await flow(world, 'Refusals', [
    ['outsider (not on the roster) gets a page saying whom to ask', async () => {
      const page = await world.page('outsider');
      await world.goto(page, '/', 'outsider home (not on the roster)');
      await world.says(page, 'Your certificate is not on the staff roster');
      await world.says(page, 'the demo administrator');
      await world.doesNotSay(page, 'Olive Stranger (outsider)');
      expect(await page.getByRole('link', { name: 'Cases' }).count() === 0, 'the outsider is offered the case log');
    }, { independent: true }],
    ['revoked: the handshake is refused, the page never loads, the daemon says why', async () => {
      const page = await world.page('revoked');
      let error = null;
      try {
        await page.goto(world.url('/'), { timeout: 20_000 });
      } catch (err) {
        error = err.message.split('\n')[0];
      }
      await world.visit(page, 'revoked certificate refused at the handshake', { axe: false });
      const text = await page.locator('body').innerText().catch(() => '');
      expect(!text.includes('Robin Vale'), 'the revoked person got a page');
      expect(error && /net::ERR_/.test(error), `the page loaded: ${error ?? excerpt(text)}`);
      await until(() => world.stderr.includes('TLS handshake refused: invalid peer certificate: Revoked'), {
        timeout: 10_000,
        describe: () => `the daemon's stderr does not say "TLS handshake refused: invalid peer certificate: Revoked": ${excerpt(world.stderr.slice(-800), 800)}`,
      });
      return `Chromium: ${error}`;
    }, { independent: true }],
    ['cp-agent opening the DMCA form is told which role is needed and whom to ask', async () => {
      const page = await world.page('cp-agent');
      const response = await world.goto(page, '/dmca/new', 'cp-agent on the DMCA form (refused)');
      expect(response.status() === 403, `answered ${response.status()}`);
      await world.says(page, 'You need another role for this page', { within: 'h1' });
      await world.says(page, 'This page needs the dmca role');
      await world.says(page, 'ask the demo administrator');
      await world.doesNotSay(page, 'Record the request');
    }, { independent: true }],
    ['dmca-agent opening the child-protection form is told which role is needed', async () => {
      const page = await world.page('dmca-agent');
      await world.goto(page, '/cp/new', 'dmca-agent on the child-protection form (refused)');
      await world.says(page, 'This page needs the child-protection role');
      await world.doesNotSay(page, 'Record the report for approval');
    }, { independent: true }],
    ['a page on another local site auto-submitting forms into the appliance is refused (multipart and URL-encoded)', async () => {
      const target = world.origin;
      const port = await world.otherSite((request, response) => {
        const multipart = request.url.startsWith('/multipart');
        const body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head><body>
<h1>A page on another site</h1>
<form id="f" method="post" action="${target}${multipart ? '/dmca/new' : '/wiki/connect'}"${multipart ? ' enctype="multipart/form-data"' : ''}>
<input type="hidden" name="csrf_token" value="0.00"><input type="hidden" name="decision" value="denied">
<input type="hidden" name="subject" value="posted from another site"><button>Go</button></form>
<script>document.getElementById('f').submit();</script></body></html>`;
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(body);
      });
      const page = await world.page('dmca-agent');
      const cases = await deniedCount(world, 'dmca-agent denied cases before the cross-site attempts');
      const before = (world.stderr.match(/cross-site request refused/g) || []).length;
      for (const [url, name] of [[`http://127.0.0.1:${port}/multipart`, 'multipart from http://127.0.0.1'], [`http://localhost:${port}/urlencoded`, 'URL-encoded from http://localhost']]) {
        const landed = page.waitForURL((u) => u.href.startsWith(target), { timeout: 20_000, waitUntil: 'load' });
        await page.goto(url);
        await landed;
        await world.visit(page, `dmca-agent cross-site POST refused (${name})`);
        await world.says(page, 'Request from another site refused', { within: 'h1' });
        await world.says(page, 'This request came from a page on another site');
      }
      const after = (world.stderr.match(/cross-site request refused/g) || []).length;
      expect(after - before >= 2, `the daemon logged ${after - before} cross-site refusal(s) for 2 attempts`);
      const now = await deniedCount(world, 'dmca-agent denied cases after the cross-site attempts');
      expect(now === cases, `the case log lists ${now} denied cases, ${cases} before: something was recorded`);
    }, { independent: true }],
    ['a form carrying another person\'s CSRF token is refused', async () => {
      const cp = await world.page('cp-agent');
      await world.goto(cp, '/ncmec/retract', 'cp-agent page whose token is borrowed');
      const foreign = await cp.inputValue('input[name="csrf_token"]');
      const page = await world.page('dmca-agent');
      const cases = await deniedCount(world, 'dmca-agent denied cases before the foreign token');
      await world.goto(page, '/dmca/new', 'dmca-agent form with a foreign token');
      await page.locator('input[name="csrf_token"]').evaluate((el, value) => { el.value = value; }, foreign);
      await page.check('input[name="decision"][value="denied"]');
      await page.fill('#subject', 'submitted with a foreign token');
      const response = await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent foreign CSRF token refused');
      expect(response.status() === 403, `answered ${response.status()} at ${page.url()}`);
      await world.says(page, 'Form not accepted', { within: 'h1' });
      await world.says(page, 'not valid for you');
      const now = await deniedCount(world, 'dmca-agent denied cases after the foreign token');
      expect(now === cases, `the case log lists ${now} denied cases, ${cases} before: something was recorded`);
    }, { independent: true }],
    ['a form carrying a stale CSRF token (issued by an earlier run of the daemon) is refused', async () => {
      const stale = await tokenFromAnotherRun(world, 'dmca-agent');
      const page = await world.page('dmca-agent');
      await world.goto(page, '/', 'dmca-agent home with a stale token');
      await page.locator('form[action="/wiki/connect"] input[name="csrf_token"]').evaluate((el, value) => { el.value = value; }, stale);
      const response = await world.submit(page, page.getByRole('button', { name: 'Connect your wiki account' }), 'dmca-agent stale CSRF token refused');
      expect(response.status() === 403, `answered ${response.status()} at ${page.url()}`);
      await world.says(page, 'Form not accepted', { within: 'h1' });
      await world.says(page, 'reload the page');
    }, { independent: true, timeout: 90_000 }],
    ['a multipart form whose CSRF token is not its first field is refused', async () => {
      const page = await world.page('dmca-agent');
      const cases = await deniedCount(world, 'dmca-agent denied cases before the misplaced token');
      await world.goto(page, '/dmca/new', 'dmca-agent form with the token moved last');
      await page.evaluate(() => {
        const form = document.querySelector('form[action="/dmca/new"]');
        form.append(form.querySelector('input[name="csrf_token"]'));
      });
      await page.check('input[name="decision"][value="denied"]');
      await page.fill('#subject', 'submitted with the token last');
      const response = await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent token not first refused');
      expect(response.status() === 403, `answered ${response.status()} at ${page.url()}`);
      await world.says(page, 'Form not accepted', { within: 'h1' });
      await world.says(page, 'carried no security token');
      const now = await deniedCount(world, 'dmca-agent denied cases after the misplaced token');
      expect(now === cases, `the case log lists ${now} denied cases, ${cases} before: something was recorded`);
    }, { independent: true }],
  ]);
}

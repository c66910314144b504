// DMCA requests as the dmca-agent makes them in Chromium: granted and sent everywhere (with a
// wiki lookup, the wiki account connected through the simulated meta wiki, every notice posted
// under the staffer's own account), refused by Lumen and corrected, denied, and Lumen-only.

import { flow, expect, sha1, sha256, excerpt, CheckError } from '../lib/harness.mjs';

/** The SHA-1s the simulated wiki gives its seeded Example.jpg (tests/peers/src/wiki/data.rs:
 * the SHA-1 of "{timestamp} {user} {size}" for each version). */
export const EXAMPLE_JPG = {
  current: Buffer.from('2025-01-01T00:00:02Z Example uploader 48213'),
  old: Buffer.from('2024-06-01T12:00:00Z Old uploader 40000'),
};
export const SHARED_EXAMPLE_JPG = Buffer.from('2023-03-03T03:03:03Z Example uploader 52000');

/** The simulated meta wiki approves the consent at once for this user (the first demo wiki user). */
export const STAFF_WIKI_USER = 'Dana Mercer (WMF)';

/** A date a week ago, as the form wants it (it refuses dates in the future). */
function aWeekAgo() {
  return new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
}

/** Fills /dmca/new for a granted request (what is ticked and typed, not submitted). */
export async function fillGranted(page, { lumen = true, notices = true, salesforce = true, title, lumenTitle, documents = [], files, users } = {}) {
  const set = async (name, on) => (on ? page.check(`input[name="${name}"]`) : page.uncheck(`input[name="${name}"]`));
  await set('send_to_lumen', lumen);
  await set('post_wiki_notices', notices);
  await set('open_salesforce_case', salesforce);
  await page.check('input[name="decision"][value="granted"]');
  await page.fill('#sender_name', 'Acme Photo LLC');
  await page.fill('#sender_firm', 'Law & Partners');
  await page.fill('#sender_country', 'US');
  await page.fill('#date_sent', aWeekAgo());
  await page.fill('#method', 'email');
  await page.fill('#to', 'legal@wikimedia.org');
  await page.fill('#from', 'counsel@acme.example');
  await page.fill('#subject', 'Copyright infringement');
  await page.fill('#body', 'Please remove our photographs of the lighthouse.\nThey are ours.');
  if (documents.length) await page.setInputFiles('#documents', documents);
  await page.selectOption('#project', 'commonswiki');
  await page.fill('#involved_users', users ?? 'Another Uploader');
  await page.fill('#affected_files', files ?? 'File:Example.jpg\nShared example.jpg');
  await page.fill('#original_urls', 'https://acme.example/lighthouse');
  await page.check('input[name="statement"][value="taken-down-dmca"]');
  if (lumenTitle !== undefined) await page.fill('#lumen_title', lumenTitle);
  await page.fill('#commons_title', title ?? 'Acme lighthouse photographs');
}

/** The status cell of a step's row on a DMCA case page ("Done", "Failed", …). */
export async function stepStatus(page, step) {
  const cell = page.locator(`tr[data-step="${step}"] td.status`);
  if ((await cell.count()) === 0) return null;
  return (await cell.first().innerText()).trim();
}

async function expectStep(world, page, step, wanted) {
  const status = await stepStatus(page, step);
  if (status === wanted) return;
  const row = page.locator(`tr[data-step="${step}"]`);
  const rowText = (await row.count()) ? await row.first().innerText() : '(no such row)';
  throw new CheckError(`the ${step} step says ${JSON.stringify(status)}, expected ${JSON.stringify(wanted)}; row: ${excerpt(rowText, 400)}`);
}

function caseIdOf(url) {
  const match = new URL(url).pathname.match(/^\/cases\/([0-9a-f]{32})$/);
  return match?.[1] ?? null;
}

export async function dmcaFlows(world) {
  const state = {};
  world.dmca = state;
  const agent = () => world.page('dmca-agent');
  const notice = Buffer.from(`%PDF-1.4 the notice as received ${Date.now()}`);
  const scan = Buffer.from(`%PDF-1.4 a scan of the registration ${Math.random()}`);

  await flow(world, 'DMCA granted, everything', [
    ['dmca-agent opens the form, which offers the fields and the lookup', async () => {
      const page = await agent();
      await world.goto(page, '/dmca/new', 'dmca-agent DMCA form (blank)');
      await world.says(page, 'DMCA takedown request', { within: 'h1' });
      await world.says(page, 'Look up these files on the wiki');
      await world.says(page, 'Record the request');
    }],
    ['fills it with two supporting documents and looks the files up on the wiki', async () => {
      const page = await agent();
      await fillGranted(page, {
        documents: [
          { name: 'notice.pdf', mimeType: 'application/pdf', buffer: notice },
          { name: 'registration scan.pdf', mimeType: 'application/pdf', buffer: scan },
        ],
      });
      await world.submit(page, page.getByRole('button', { name: 'Look up these files on the wiki' }), 'dmca-agent DMCA form after the wiki lookup');
      expect(new URL(page.url()).pathname === '/dmca/new', `a lookup must record nothing and stay on the form; it went to ${page.url()}`);
      await world.says(page, /What the wiki says \(looked up/);
      for (const bytes of [EXAMPLE_JPG.current, EXAMPLE_JPG.old, SHARED_EXAMPLE_JPG]) {
        await world.says(page, sha1(bytes));
      }
      await world.says(page, 'Attached: notice.pdf');
      await world.says(page, 'Attached: registration scan.pdf');
      await world.says(page, 'Uploaders to add as involved users');
      expect(await page.locator('input[name="offer_user"][value="Example uploader"]').count() === 1,
        'the uploader "Example uploader" is not offered as an involved user (no tick box offer_user=Example uploader)');
    }],
    ['ticks the offered uploader and records: Lumen and Salesforce done', async () => {
      const page = await agent();
      const lumenBefore = world.journal('lumen', 'notices').length;
      await page.locator('input[name="offer_user"][value="Example uploader"]').check();
      await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent DMCA case just recorded', { timeout: 60_000 });
      state.granted = caseIdOf(page.url());
      expect(state.granted, `recording did not open the case page; it is at ${page.url()}: ${excerpt(await world.text(page))}`);
      await world.says(page, 'Granted');
      await expectStep(world, page, 'lumen', 'Done');
      await expectStep(world, page, 'salesforce', 'Done');
      await world.says(page, 'notice.pdf');
      await world.says(page, sha256(notice));
      await world.says(page, sha256(scan));
      await world.says(page, 'User talk:Example uploader');
      const sent = world.journal('lumen', 'notices').slice(lumenBefore);
      expect(sent.length === 1, `Lumen should have received one notice, it received ${sent.length}`);
      const body = JSON.stringify(sent[0]);
      expect(body.includes(sha256(notice)) && body.includes(sha256(scan)), `Lumen's notice lacks a document: ${excerpt(body, 500)}`);
      expect(sent[0].status === 201, `Lumen answered ${sent[0].status}`);
      const upserts = world.journal('salesforce').filter((e) => JSON.stringify(e).includes(state.granted));
      expect(upserts.length >= 1, `Salesforce received nothing keyed by the case ID ${state.granted}`);
      state.textareaSizes = await page.$$eval('section.notice textarea', (els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        return [Math.round(r.width), Math.round(r.height)];
      }));
    }],
    ['the notice text areas use the column\'s width (at least 500 px in a 1200 px window) and a useful height', async () => {
      const sizes = state.textareaSizes ?? [];
      expect(sizes.length > 0, 'no notice text area on the case page');
      expect(sizes.every(([w, h]) => w >= 500 && h >= 150), `the notice text areas are ${sizes.map(([w, h]) => `${w}×${h}`).join(', ')} px (width×height)`);
    }, { soft: true }],
    ['a step that started and then succeeded does not read as a failure ("earlier: Unknown — check the service")', async () => {
      const page = await agent();
      await world.doesNotSay(page, 'Unknown — check the service');
    }, { soft: true }],
    ['connects the wiki account from the home page through the simulated meta wiki and back', async () => {
      const page = await agent();
      await world.goto(page, '/', 'dmca-agent home before connecting the wiki');
      await world.says(page, 'Not connected');
      const seen = [];
      const onRequest = (request) => { if (request.isNavigationRequest()) seen.push(request.url()); };
      page.on('request', onRequest);
      const cspBefore = world.cspViolations.length;
      try {
        await world.submit(page, page.getByRole('button', { name: 'Connect your wiki account' }), 'dmca-agent back from the meta wiki consent');
      } catch (err) {
        const csp = world.cspViolations.slice(cspBefore).map((v) => v.text);
        throw new CheckError(`${err.message}; the browser went to: ${seen.join(' → ') || 'nowhere'}${csp.length ? `; console: ${csp.join(' / ')}` : ''}`);
      } finally {
        page.off('request', onRequest);
      }
      const csp = world.cspViolations.slice(cspBefore).map((v) => v.text);
      expect(csp.length === 0, `the browser reported a CSP violation: ${csp.join(' / ')}`);
      expect(seen.some((u) => u.startsWith('https://meta.wiki.test:') && u.includes('/oauth2/authorize')),
        `the browser never went to the meta wiki's consent page; it went to: ${seen.join(' → ')}`);
      expect(page.url().startsWith(world.origin), `the browser did not come back to the appliance: it is at ${page.url()} (went: ${seen.join(' → ')}): ${excerpt(await world.text(page))}`);
      await world.goto(page, '/', 'dmca-agent home with the wiki connected');
      await world.says(page, `Connected as ${STAFF_WIKI_USER}`);
    }],
    ['posts every wiki notice with the staffer\'s own account (answering a CAPTCHA on the page where asked)', async () => {
      const page = await agent();
      await world.goto(page, `/cases/${state.granted}`, 'dmca-agent DMCA case with notices to post');
      await world.says(page, `Posting as your wiki account ${STAFF_WIKI_USER}`);
      const keys = await page.$$eval('section.notice[data-notice]', (els) => els.map((e) => e.dataset.notice));
      expect(keys.length === 5, `expected 5 notices (foundation page, noticeboard, village pump, two talk pages), found ${keys.length}: ${keys.join(', ')}`);
      state.noticeKeys = keys;
      state.captchas = 0;
      // The demo's staff account holds skipcaptcha (sysop); as an account without it, adding the
      // foundation page's external links makes the wiki ask for a CAPTCHA, answered on the page.
      await world.peerControl('wiki', 'groups', { user: STAFF_WIKI_USER, groups: [] });
      const editsBefore = world.journal('wiki', 'action=edit').length;
      state.editsBefore = editsBefore;
      for (const key of keys) {
        const section = () => page.locator(`section.notice[data-notice="${key}"]`);
        await world.submit(page, section().getByRole('button', { name: 'Post with my wiki account' }), `dmca-agent notice ${key} posted`, { timeout: 30_000 });
        if (await section().locator('input[name="captcha_id"]').count()) {
          state.captchas += 1;
          await world.says(page, 'The wiki asks for a CAPTCHA', { within: `section.notice[data-notice="${key}"]` });
          const id = await section().locator('input[name="captcha_id"]').inputValue();
          await section().getByLabel('Answer').fill([...id].reverse().join(''));
          await world.submit(page, section().getByRole('button', { name: 'Post with my wiki account' }), `dmca-agent notice ${key} after the CAPTCHA`);
        }
        const text = await section().innerText();
        expect(/Done/.test(text) && /\(revision \d+\)/.test(text), `notice ${key} is not done with a revision: ${excerpt(text, 400)}`);
      }
      await world.peerControl('wiki', 'groups', { user: STAFF_WIKI_USER, groups: ['autoconfirmed', 'sysop'] });
    }, { timeout: 120_000 }],
    ['the simulated wiki holds the posted edits, made by the staffer\'s wiki user through OAuth (not the bot)', async () => {
      const saved = world.journal('wiki', 'action=edit').slice(state.editsBefore).filter((e) => Number.isInteger(e.received?.newrevid));
      expect(saved.length === state.noticeKeys.length, `the wiki saved ${saved.length} edit(s) for ${state.noticeKeys.length} notices: ${excerpt(JSON.stringify(saved), 600)}`);
      const wrong = saved.filter((e) => e.received.user !== STAFF_WIKI_USER || e.received.auth !== 'oauth');
      expect(wrong.length === 0, `edits not made by ${STAFF_WIKI_USER} over OAuth: ${excerpt(JSON.stringify(wrong.map((e) => e.received)), 600)}`);
      const titles = JSON.stringify(saved.map((e) => e.received));
      for (const needle of ['Office actions/DMCA notices', 'Village pump', 'User talk:Example uploader', 'User talk:Another Uploader', 'Legal:DMCA Acme lighthouse photographs']) {
        expect(titles.includes(needle) || titles.includes(needle.replace(/ /g, '_')), `no edit of ${needle}: ${excerpt(titles, 600)}`);
      }
    }],
    ['one notice went through a CAPTCHA answered on the page', async () => {
      expect(state.captchas >= 1, 'the wiki asked for no CAPTCHA although the staff account lacks skipcaptcha');
    }],
    ['presses Salesforce "Update": updated, still one case', async () => {
      expect(state.granted, 'no case was recorded');
      const page = await agent();
      await world.goto(page, `/cases/${state.granted}`, 'dmca-agent DMCA case before the Salesforce update');
      const before = world.journal('salesforce').filter((e) => JSON.stringify(e).includes(state.granted));
      await world.submit(page, page.locator('tr[data-step="salesforce"]').getByRole('button', { name: 'Update' }), 'dmca-agent DMCA case after the Salesforce update');
      await expectStep(world, page, 'salesforce', 'Done');
      const after = world.journal('salesforce').filter((e) => JSON.stringify(e).includes(state.granted));
      expect(after.length > before.length, `Salesforce received no new call for case ${state.granted}`);
      const statuses = after.slice(before.length).map((e) => e.status);
      expect(statuses.every((s) => s >= 200 && s < 300), `Salesforce answered ${statuses.join(', ')}`);
      const endpoints = after.slice(before.length).map((e) => e.endpoint);
      expect(endpoints.every((e) => e === 'case-upsert'), `the update was not an upsert by the case ID (a duplicate could follow): ${endpoints.join(', ')}`);
      await world.doesNotSay(page, 'Failed', { within: 'table.steps' });
    }, { independent: true }],
  ]);

  await flow(world, 'DMCA refused by Lumen (422), corrected and resent', [
    ['records a request that Lumen refuses (422): the case says so', async () => {
      const page = await agent();
      // The form already checks every rule the simulated Lumen has, so Lumen's refusal is
      // switched on through the demo's control surface: its next notice is answered with a
      // Rails errors hash for the title, as real Lumen answers a title it will not take.
      await world.peerControl('lumen', 'fault', {
        endpoint: 'notices',
        status: 422,
        content_type: 'application/json; charset=utf-8',
        body: JSON.stringify({ notices: { title: ['is too long (maximum is 255 characters)'] } }),
        times: 1,
      });
      await world.goto(page, '/dmca/new', 'dmca-agent DMCA form for a request Lumen refuses');
      await fillGranted(page, { notices: false, title: 'Acme harbour photographs', files: 'Beach.jpg', documents: [{ name: 'refused.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 refused by Lumen') }] });
      await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent recorded, Lumen refused it', { timeout: 60_000 });
      state.refused = caseIdOf(page.url());
      expect(state.refused, `not sent to the case page: ${page.url()}: ${excerpt(await world.text(page))}`);
      await expectStep(world, page, 'lumen', 'Failed');
      const refused = world.journal('lumen', 'notices').filter((e) => e.status === 422);
      expect(refused.length === 1, `Lumen answered ${refused.length} notice(s) with 422`);
    }],
    ['the case page shows Lumen\'s refusal, and the correction form shows it next to the field', async () => {
      const page = await agent();
      await world.says(page, '422', { within: 'tr[data-step="lumen"]' });
      await world.submit(page, page.getByRole('link', { name: 'Correct the request' }).first(), 'dmca-agent correction form with Lumen\'s refusal');
      await world.says(page, "Lumen's last answer");
      const field = page.locator('[data-field="lumen_title"]');
      expect(/invalid/.test(await field.getAttribute('class')), 'the Lumen title field is not marked invalid');
      await world.says(page, /too long/i, { within: '[data-field="lumen_title"]' });
      await world.says(page, 'Attached: refused.pdf');
    }],
    ['corrects the title and resends: Lumen done, the correction listed', async () => {
      const page = await agent();
      const before = world.journal('lumen', 'notices').length;
      await page.fill('#lumen_title', 'DMCA notice regarding Acme harbour photographs');
      await world.submit(page, page.getByRole('button', { name: /Record/ }), 'dmca-agent DMCA case after the correction', { timeout: 60_000 });
      await expectStep(world, page, 'lumen', 'Done');
      // The correction is in the history, behind its disclosure: opened as a person would.
      const disclose = async (summary) => {
        if (!(await summary.evaluate((el) => el.parentElement.open))) await summary.click();
      };
      await disclose(page.locator('details#history > summary'));
      await disclose(page.locator('details#history summary', { hasText: /Revision \d+: correct/ }).last());
      await world.says(page, 'What this correction changed');
      const sent = world.journal('lumen', 'notices').slice(before);
      expect(sent.length === 1 && sent[0].status === 201, `Lumen got ${sent.length} notice(s) after the correction: ${excerpt(JSON.stringify(sent), 400)}`);
    }],
  ]);

  await flow(world, 'DMCA denied', [
    ['records a denied request: logged, nothing sent anywhere', async () => {
      const page = await agent();
      await world.goto(page, '/dmca/new', 'dmca-agent DMCA form for a denied request');
      const lumen = world.journal('lumen', 'notices').length;
      const salesforce = world.journal('salesforce').length;
      const edits = world.journal('wiki', 'action=edit').length;
      await page.check('input[name="decision"][value="denied"]');
      await page.fill('#sender_name', 'Denied Rights Holder');
      await page.fill('#subject', 'A request we deny');
      await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent denied DMCA case');
      state.denied = caseIdOf(page.url());
      expect(state.denied, `not sent to the case page: ${page.url()}: ${excerpt(await world.text(page))}`);
      await world.says(page, 'Denied (content kept)');
      const note = `the Salesforce step of a denied request with the form's defaults: ${await stepStatus(page, 'salesforce')}`;
      await expectStep(world, page, 'lumen', 'Skipped');
      await world.says(page, 'denied', { within: 'tr[data-step="lumen"]' });
      // The form ticks "Open a Salesforce case" by default and a denied request keeps it: the
      // CRM case is either opened (Done, and Salesforce was called) or skipped (not called).
      const crm = await stepStatus(page, 'salesforce');
      const crmCalls = world.journal('salesforce').slice(salesforce).filter((e) => JSON.stringify(e).includes(state.denied));
      expect((crm === 'Done' && crmCalls.length > 0) || (crm === 'Skipped' && crmCalls.length === 0),
        `the Salesforce step says ${JSON.stringify(crm)} but Salesforce received ${crmCalls.length} call(s) for the case`);
      expect(await page.locator('section.notice').count() === 0, 'a denied request shows wiki notices');
      expect(world.journal('lumen', 'notices').length === lumen, 'Lumen received a denied request');
      expect(world.journal('wiki', 'action=edit').length === edits, 'the wiki was edited for a denied request');
      return note;
    }],
    ['the case log lists it', async () => {
      const page = await agent();
      await world.goto(page, '/cases?decision=denied', 'dmca-agent case log of denied requests');
      expect(await page.locator(`a[href="/cases/${state.denied}"]`).count() >= 1, `the case log does not link ${state.denied}`);
    }],
  ]);

  await flow(world, 'DMCA Lumen only', [
    ['records a granted request sent to Lumen only: Lumen done, Salesforce skipped, no notices', async () => {
      const page = await agent();
      await world.goto(page, '/dmca/new', 'dmca-agent DMCA form for a Lumen-only request');
      const lumen = world.journal('lumen', 'notices').length;
      const salesforce = world.journal('salesforce').length;
      await fillGranted(page, { notices: false, salesforce: false, title: 'Acme Lumen-only photographs', files: 'Lumen only.jpg' });
      // Typed with a right-to-left override: shown reversed unless the page shows the control.
      await page.fill('#sender_name', 'Acme \u202Egpj.exe Photo LLC');
      await world.submit(page, page.getByRole('button', { name: 'Record the request' }), 'dmca-agent Lumen-only DMCA case', { timeout: 60_000 });
      state.lumenOnly = caseIdOf(page.url());
      expect(state.lumenOnly, `not sent to the case page: ${page.url()}: ${excerpt(await world.text(page))}`);
      await expectStep(world, page, 'lumen', 'Done');
      await expectStep(world, page, 'salesforce', 'Skipped');
      expect(await page.locator('section.notice').count() === 0, 'a Lumen-only request shows wiki notices');
      const sent = world.journal('lumen', 'notices').slice(lumen);
      expect(sent.length === 1 && sent[0].status === 201, `Lumen received ${sent.length} notice(s)`);
      const calls = world.journal('salesforce').slice(salesforce).filter((e) => e.endpoint !== 'token' && !String(e.endpoint).includes('limits') && !String(e.endpoint).includes('versions'));
      expect(!calls.some((e) => JSON.stringify(e).includes(state.lumenOnly)), `Salesforce was called for a Lumen-only request: ${excerpt(JSON.stringify(calls), 300)}`);
    }],
    ['a bidirectional control typed in a field (U+202E) is shown visibly, not obeyed', async () => {
      const page = await agent();
      const text = await world.text(page);
      const line = text.split('\n').find((l) => l.includes('gpj.exe')) ?? '';
      expect(!text.includes('\u202E'), `the page displays the raw U+202E, so the sender reads reversed: ${JSON.stringify(line)}`);
      expect(/U\+202E/i.test(text), `the control is neither displayed nor named: ${JSON.stringify(line)}`);
    }, { soft: true }],
  ]);
}


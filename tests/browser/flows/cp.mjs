// Child protection in Chromium: the cp-agent prepares a report, the approver approves it in
// their own browser (by keyboard), the cp-agent chooses the images and sends them; a SHA-1
// mismatch held until the approver confirms it in their own browser; the retraction page; the
// preparer's own approval.

import { flow, expect, expectNavigation, excerpt, sha1, md5, sha256, freshImage, CheckError } from '../lib/harness.mjs';
import { EXAMPLE_JPG, SHARED_EXAMPLE_JPG } from './dmca.mjs';

function caseIdOf(url) {
  return new URL(url).pathname.match(/^\/cases\/([0-9a-f]{32})$/)?.[1] ?? null;
}

/** Fills /cp/new with `files` ([wiki name, upload time, IP]) and records it. Returns the case ID. */
async function prepareReport(world, page, files, name, prefill, login = 'cp-agent') {
  await world.goto(page, '/cp/new', `${login} child-protection form (${name})`);
  await world.says(page, 'NCMEC TEST environment');
  if (prefill) {
    prefill.first = await page.inputValue('#reporter_first_name');
    prefill.last = await page.inputValue('#reporter_last_name');
  }
  await page.check('input[name="environment"][value="test"]');
  await page.check('input[name="statement"][value="taken-down-suppressed"]');
  await page.check('input[name="statement"][value="user-locked"]');
  await page.fill('#permanent_notes', 'Reported from the browser suite (made-up data).');
  if (!(await page.inputValue('#reporter_first_name'))) await page.fill('#reporter_first_name', 'Chris');
  if (!(await page.inputValue('#reporter_last_name'))) await page.fill('#reporter_last_name', 'Okafor');
  await page.selectOption('#project', 'commonswiki');
  await page.fill('#uploader', 'Example uploader');
  await page.fill('#uploader_email', 'uploader@example.net');
  await page.fill('#additional_info', 'Made-up CheckUser text for the browser suite.');
  for (const [i, [file, uploaded, ip]] of files.entries()) {
    await page.getByLabel(`File ${i + 1} name`).fill(file);
    await page.getByLabel(`File ${i + 1} upload time`).fill(uploaded);
    await page.getByLabel(`File ${i + 1} upload IP`).fill(ip);
  }
  await world.submit(page, page.getByRole('button', { name: 'Record the report for approval' }), `${login} report recorded (${name})`);
  const id = caseIdOf(page.url());
  expect(id, `recording did not open the case page: ${page.url()}: ${excerpt(await world.text(page))}`);
  await world.says(page, 'Waiting for approval by a second person with the approver role');
  return id;
}

/** The approver opens the case and clicks "Approve the release to NCMEC". */
async function approveByClick(world, id, name) {
  const page = await world.page('approver');
  await world.goto(page, `/cases/${id}`, `approver case to approve (${name})`);
  await world.submit(page, page.getByRole('button', { name: 'Approve the release to NCMEC' }), `approver approved (${name})`);
  await world.says(page, 'Approved by approver');
}

/** Presses Tab until `locator` has the focus (at most `limit` times); fails otherwise. */
export async function tabTo(page, locator, limit = 60) {
  const handle = await locator.elementHandle();
  for (let i = 0; i < limit; i += 1) {
    if (await handle.evaluate((el) => el === document.activeElement)) return i;
    await page.keyboard.press('Tab');
  }
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}${el.name ? `[name=${el.name}]` : ''} "${(el.innerText || el.value || '').slice(0, 40)}"` : 'nothing';
  });
  throw new CheckError(`the element never got the focus after ${limit} Tab presses (focus is on ${focused})`);
}

/** The visible focus indicator: the focused element's outline or box-shadow is not none. */
export async function focusVisible(locator) {
  return locator.evaluate((el) => {
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return outline || (style.boxShadow && style.boxShadow !== 'none');
  });
}

export async function childProtectionFlows(world) {
  const state = {};
  world.cp = state;
  const agent = () => world.page('cp-agent');
  const images = [Buffer.from(EXAMPLE_JPG.current), Buffer.from(SHARED_EXAMPLE_JPG)];
  const names = ['Example.jpg', 'Shared example.jpg'];

  await flow(world, 'Child protection, approved by another person and filed', [
    ['cp-agent prepares a report with two files', async () => {
      const page = await agent();
      state.prefill = {};
      state.report = await prepareReport(world, page, [
        [names[0], '2025-01-01T00:00', '192.0.2.44'],
        [names[1], '2023-03-03T03:03', '2001:db8::44'],
      ], 'two files', state.prefill);
      await world.says(page, 'Example.jpg, uploaded');
      await world.says(page, 'Shared example.jpg, uploaded');
      expect(await page.getByRole('button', { name: /Send the report/ }).count() === 0, 'the send form is offered before approval');
    }],
    ['the form had the reporter\'s name from the roster (Chris Okafor)', async () => {
      expect(state.prefill.first === 'Chris' && state.prefill.last === 'Okafor',
        `the reporter's first and last name were ${JSON.stringify(state.prefill.first)} and ${JSON.stringify(state.prefill.last)}`);
    }, { soft: true }],
    ['the preparer\'s own attempt to approve is refused with a readable page', async () => {
      const page = await agent();
      // The cp-agent holds no approver role, so the case page offers no approval form; a person
      // who tries anyway (an old tab, a bookmark, a crafted form) posts this, from our own page.
      await world.goto(page, '/ncmec/retract', 'cp-agent retraction page (for a CSRF token)');
      const token = await page.inputValue('input[name="csrf_token"]');
      await world.goto(page, `/cases/${state.report}`, 'cp-agent own case waiting for approval');
      await page.evaluate(({ id, token }) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = `/cases/${id}/approval`;
        form.id = 'own-approval';
        form.innerHTML = `<input type="hidden" name="csrf_token" value="${token}"><button type="submit" name="decision" value="approve">Approve my own report</button>`;
        document.querySelector('main').append(form);
      }, { id: state.report, token });
      const response = await world.submit(page, page.locator('#own-approval button'), 'cp-agent own approval refused');
      const status = response?.status();
      expect(status >= 400, `the preparer's approval was answered ${status}: ${excerpt(await world.text(page))}`);
      const heading = await page.locator('h1').first().innerText().catch(() => '');
      const text = await world.text(page);
      const main = await page.locator('main').innerText().catch(() => text);
      state.ownApproval = `${status}: ${excerpt(main, 400)}`;
      expect(heading.trim().length > 0, `the refusal page has no heading: ${excerpt(text)}`);
      expect(/approver/i.test(text), `the refusal does not say that an approver (another person) is needed: ${excerpt(text)}`);
      const repeat = await world.page('approver');
      await world.goto(repeat, `/cases/${state.report}`, 'approver case still waiting after the preparer\'s attempt');
      await world.says(repeat, 'Waiting for approval by a second person');
      return `the page shows: ${state.ownApproval}`;
    }],
    ['cp-lead (child-protection and approver) is offered no approval of their own report, and one sent anyway is refused', async () => {
      const page = await world.page('cp-lead');
      const own = await prepareReport(world, page, [[names[0], '2025-01-01T00:00', '192.0.2.45']], 'cp-lead own report', undefined, 'cp-lead');
      expect(await page.getByRole('button', { name: 'Approve the release to NCMEC' }).count() === 0,
        'the preparer is offered the approval of their own report');
      await world.goto(page, '/ncmec/retract', 'cp-lead retraction page (for a CSRF token)');
      const token = await page.inputValue('input[name="csrf_token"]');
      await world.goto(page, `/cases/${own}`, 'cp-lead own case waiting for approval');
      await page.evaluate(({ id, token }) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = `/cases/${id}/approval`;
        form.id = 'own-approval';
        form.innerHTML = `<input type="hidden" name="csrf_token" value="${token}"><button type="submit" name="decision" value="approve">Approve my own report</button>`;
        document.querySelector('main').append(form);
      }, { id: own, token });
      const response = await world.submit(page, page.locator('#own-approval button'), 'cp-lead own approval refused');
      expect(response?.status() === 409, `the preparer's own approval was answered ${response?.status()}`);
      await world.says(page, 'Not done: you prepared this report, so another person with the approver role must decide on it', { within: 'h1' });
      await world.says(page, 'Nothing was changed');
      await world.submit(page, page.getByRole('link', { name: 'Back to the case' }), 'cp-lead back to the case after the refusal');
      await world.says(page, 'Waiting for approval by a second person');
    }],
    ['the approver approves in their own browser with the keyboard alone (Tab to the button, Enter)', async () => {
      const page = await world.page('approver');
      await world.goto(page, `/cases/${state.report}`, 'approver case to approve by keyboard');
      const button = page.getByRole('button', { name: 'Approve the release to NCMEC' });
      await page.locator('body').focus();
      const presses = await tabTo(page, button);
      const visible = await focusVisible(button);
      await world.visit(page, 'approver approve button focused by keyboard', { axe: false });
      const navigated = expectNavigation(page);
      await page.keyboard.press('Enter');
      await navigated();
      await world.visit(page, 'approver approved by keyboard');
      await world.says(page, 'Approved by approver');
      expect(visible, `the focused button shows no focus indicator (outline/box-shadow none) after ${presses} Tab presses`);
    }, { soft: true }],
    ['the report is approved (clicked if the keyboard did not do it)', async () => {
      const page = await world.page('approver');
      await page.goto(world.url(`/cases/${state.report}`));
      if (!(await world.text(page)).includes('Approved by approver')) await approveByClick(world, state.report, 'two files');
      const cp = await agent();
      await world.goto(cp, `/cases/${state.report}`, 'cp-agent approved case ready to send');
      await world.says(cp, 'Approved by approver');
      await world.says(cp, 'Send to NCMEC');
    }],
    ['cp-agent chooses the images and sends: the report is filed and every hash shown', async () => {
      const page = await agent();
      const before = Object.fromEntries(['submit', 'upload', 'fileinfo', 'finish', 'retract'].map((e) => [e, world.journal('ncmec', e).length]));
      await page.setInputFiles('#image_0', { name: 'lighthouse.jpg', mimeType: 'image/jpeg', buffer: images[0] });
      await page.setInputFiles('#image_1', { name: 'beach.jpg', mimeType: 'image/jpeg', buffer: images[1] });
      await world.submit(page, page.getByRole('button', { name: /Send the report and its images to NCMEC/ }), 'cp-agent report sent to NCMEC', { timeout: 90_000 });
      const text = await world.text(page);
      const filed = text.match(/Report (\d+) filed with NCMEC/);
      expect(filed, `the page does not say the report was filed: ${excerpt(text)}`);
      state.reportId = Number(filed[1]);
      for (const bytes of images) {
        for (const [label, hash] of [['SHA-1', sha1(bytes)], ['MD5', md5(bytes)], ['SHA-256', sha256(bytes)]]) {
          expect(text.includes(hash), `the ${label} ${hash} is not shown whole on the page`);
        }
      }
      const matches = await page.locator('[data-wiki-hash="matches"]').count();
      expect(matches === 2, `${matches} of 2 images are shown matching the wiki's SHA-1`);
      const count = (e) => world.journal('ncmec', e).length - before[e];
      expect(count('submit') === 1 && count('upload') === 2 && count('fileinfo') === 2 && count('finish') === 1 && count('retract') === 0,
        `NCMEC received submit ${count('submit')}, upload ${count('upload')}, fileinfo ${count('fileinfo')}, finish ${count('finish')}, retract ${count('retract')}`);
      const uploads = JSON.stringify(world.journal('ncmec', 'upload').slice(before.upload));
      expect(images.every((b) => uploads.includes(sha256(b))), 'NCMEC did not receive the chosen images (SHA-256 not in its journal)');
      const crm = world.journal('salesforce', 'case-upsert').filter((e) => e.received?.external_id === state.report);
      expect(crm.length >= 1 && crm.every((e) => e.status >= 200 && e.status < 300),
        `Salesforce did not get the case upserted by its ID ${state.report}: ${excerpt(JSON.stringify(crm), 300)}`);
    }, { timeout: 120_000 }],
    ['the hashes each read whole on one line, inside the page\'s column', async () => {
      const page = await agent();
      // Each file's SHA-1, MD5 and SHA-256 (not the wiki's or NCMEC's IDs) in the submission.
      const layout = await page.evaluate(() => {
        const cells = [...document.querySelectorAll('dl.hashes')].flatMap((dl) => [...dl.querySelectorAll('dt')]
          .filter((dt) => ['SHA-1', 'MD5', 'SHA-256'].includes(dt.textContent.trim()))
          .map((dt) => dt.nextElementSibling.querySelector('code.hash')));
        const main = document.querySelector('main').getBoundingClientRect();
        const lines = cells.map((cell) => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        });
        const overflow = Math.max(...cells.map((cell) => Math.round(cell.getBoundingClientRect().right - main.right)));
        return { lines, overflow, texts: cells.map((c) => c.textContent) };
      });
      expect(layout.lines.length === 6, `expected 6 hashes (3 per file), found ${layout.lines.length}`);
      expect(layout.lines.every((n) => n === 1), `hashes wrap over ${layout.lines.join(', ')} lines`);
      expect(layout.overflow <= 0, `a hash runs ${layout.overflow} px past the page's column`);
      expect(layout.texts.every((t) => /^[0-9a-f]{32,64}$/.test(t)), `a hash does not read whole: ${layout.texts.join(', ')}`);
    }, { soft: true }],
    ['the case leads with its state and puts the history behind a disclosure', async () => {
      const page = await agent();
      const journalRows = await page.locator('table.journal tr').count();
      const hidden = await page.locator('details table.journal, details section.revision').count();
      const raw = /attempt 1 detail|status started step/.test(await world.text(page));
      expect(!raw, 'the page shows raw key/value dumps of the revisions ("attempt 1 detail … status started step …")');
      expect(journalRows === 0 || hidden > 0, `the NCMEC journal (${journalRows} rows) and revisions are shown open, not behind a disclosure`);
    }, { soft: true }],
  ]);

  await flow(world, 'Child protection, SHA-1 mismatch confirmed on the case page', [
    ['cp-agent prepares a report of Example.jpg; the approver approves it', async () => {
      const page = await agent();
      state.mismatch = await prepareReport(world, page, [['Example.jpg', '2025-01-01T00:00', '192.0.2.45']], 'SHA-1 mismatch');
      await approveByClick(world, state.mismatch, 'SHA-1 mismatch');
    }],
    ['sends an image whose SHA-1 differs from the wiki\'s: the case page shows the mismatch, the images held for an approver, no box for the sender to tick', async () => {
      const page = await agent();
      state.mismatchImage = freshImage();
      state.ncmecBefore = world.journal('ncmec', 'submit').length;
      await world.goto(page, `/cases/${state.mismatch}`, 'cp-agent approved case for the mismatch');
      expect(await page.getByLabel(/Send even if an image's SHA-1 differs/i).count() === 0, 'the sender is offered a box to waive the mismatch');
      await page.setInputFiles('#image_0', { name: 'not the same.jpg', mimeType: 'image/jpeg', buffer: state.mismatchImage });
      const response = await world.submit(page, page.getByRole('button', { name: /Send the report and its images to NCMEC/ }), 'cp-agent SHA-1 mismatch shown', { timeout: 60_000 });
      const text = await world.text(page);
      expect(world.journal('ncmec', 'submit').length === state.ncmecBefore, 'a report was submitted to NCMEC despite the mismatch');
      const heading = await page.locator('h1').first().innerText().catch(() => '');
      expect(caseIdOf(page.url()) === state.mismatch || text.includes(state.mismatch),
        `not on the case page: ${response?.status()} "${heading}" at ${page.url()}: ${excerpt(text)}`);
      expect(!/Not done: the case is not in a state for it/.test(text), `an error page instead of the case: ${response?.status()} "${heading}": ${excerpt(text)}`);
      expect(/differs/i.test(text) && text.includes(sha1(state.mismatchImage)) && text.includes(sha1(EXAMPLE_JPG.current)),
        `the page does not show the mismatch with both SHA-1s (ours ${sha1(state.mismatchImage)}, the wiki's ${sha1(EXAMPLE_JPG.current)}): ${excerpt(text)}`);
      expect(/a person with the approver role who neither prepared this report nor sent the images/.test(text),
        `the page does not say who decides: ${excerpt(text)}`);
      expect(await page.getByRole('button', { name: 'Discard the held images' }).count() === 1, 'no button to discard the held images');
      expect(await page.getByRole('button', { name: /Send the held images/ }).count() === 0, 'the sender is offered to send the held images alone');
    }, { timeout: 90_000 }],
    ['the approver, in their own browser, sees which file differs and both SHA-1s, confirms: filed without a second upload', async () => {
      const page = await world.page('approver');
      await world.goto(page, `/cases/${state.mismatch}`, 'approver asked to confirm the SHA-1 mismatch');
      const section = page.locator('#sha1-waiver');
      expect(await section.count() === 1, `the approver is not asked to confirm: ${excerpt(await world.text(page))}`);
      const text = await section.innerText();
      expect(text.includes('File 1') && text.includes('Example.jpg') && text.includes('cp-agent'),
        `the file, its wiki name or the sender is not named: ${excerpt(text)}`);
      expect(text.includes(sha1(state.mismatchImage)) && text.includes(sha1(EXAMPLE_JPG.current)), `both SHA-1s are not shown: ${excerpt(text)}`);
      expect(await section.getByRole('button', { name: /Refuse/ }).count() === 1, 'no button to refuse');
      expect(await section.locator('input[type="file"]').count() === 0, 'the confirmation asks for the images again');
      const uploadsBefore = world.journal('ncmec', 'upload').length;
      expect(world.journal('ncmec', 'submit').length === state.ncmecBefore, 'something reached NCMEC before the confirmation');
      await world.submit(page, section.getByRole('button', { name: /^Confirm/ }), 'approver confirmed the SHA-1 mismatch: sent', { timeout: 90_000 });
      const after = await world.text(page);
      expect(/Report \d+ filed with NCMEC/.test(after), `not filed after the approver's confirmation: ${excerpt(after)}`);
      expect(await page.locator('[data-wiki-hash="differs"]').count() === 1, 'the sent image is not marked as differing from the wiki');
      expect(after.includes(sha1(EXAMPLE_JPG.current)), "the wiki's SHA-1 is not shown next to ours");
      const history = (await page.locator('#history').textContent()) ?? '';
      expect(/Alex Rivera \(approver\): confirmed sending file 1 although its SHA-1 differs/.test(history), `the confirmation is not in the history under the approver's name: ${excerpt(history)}`);
      const uploads = JSON.stringify(world.journal('ncmec', 'upload').slice(uploadsBefore));
      expect(uploads.includes(sha256(state.mismatchImage)), 'NCMEC did not receive the held image');
    }, { timeout: 120_000 }],
  ]);

  await flow(world, 'NCMEC retraction page', [
    ['cp-agent retracts the filed report with the keyboard alone: the page explains NCMEC\'s answer', async () => {
      expect(state.reportId, 'no filed report to retract (the filing step failed)');
      const page = await agent();
      await world.goto(page, '/ncmec/retract', 'cp-agent retraction page');
      await world.says(page, 'Retraction works only for a report that was never finished');
      const field = page.getByLabel('Report ID');
      await page.locator('body').focus();
      await tabTo(page, field);
      const fieldVisible = await focusVisible(field);
      await page.keyboard.type(String(state.reportId));
      const button = page.getByRole('button', { name: 'Retract' });
      await tabTo(page, button, 10);
      const buttonVisible = await focusVisible(button);
      await world.visit(page, 'cp-agent retraction page filled by keyboard', { axe: false });
      const navigated = expectNavigation(page);
      await page.keyboard.press('Space');
      await navigated();
      await world.visit(page, 'cp-agent retraction of a filed report answered');
      await world.says(page, `Report ${state.reportId} (test)`);
      await world.says(page, 'already finished');
      expect(fieldVisible && buttonVisible, `no visible focus indicator on the ${[!fieldVisible && 'Report ID field', !buttonVisible && 'Retract button'].filter(Boolean).join(' or ')}`);
    }],
    ['an unknown report ID: the page says NCMEC has no such open report', async () => {
      const page = await agent();
      await page.getByLabel('Report ID').fill('99999999');
      await world.submit(page, page.getByRole('button', { name: 'Retract' }), 'cp-agent retraction of an unknown report');
      await world.says(page, 'unknown: NCMEC has no such open report');
    }],
  ]);
}

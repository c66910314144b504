// The auditor reads the audit log in the browser: the chain's state, entries newest first,
// a filter, the whole chain verified on request; no case content on the page.

import { flow, expect } from '../lib/harness.mjs';

export async function auditFlows(world) {
  await flow(world, 'Auditor', [
    ['opens the audit log from the navigation: the chain, then entries newest first', async () => {
      const page = await world.page('auditor');
      await world.goto(page, '/', 'auditor home before the audit log');
      await world.submit(page, page.getByRole('link', { name: 'Audit log' }), 'auditor audit log');
      await world.says(page, 'The chain');
      await world.says(page, 'Entries, newest first');
      const seqs = await page.$$eval('table.audit-log tbody tr td:first-child', (cells) => cells.map((c) => Number(c.textContent)));
      expect(seqs.length > 10, `only ${seqs.length} entries listed after the other flows`);
      expect(seqs.every((s, i) => i === 0 || s < seqs[i - 1]), `entries are not newest first: ${seqs.slice(0, 10).join(', ')}`);
      // The other flows' staff appear by login; what they typed does not.
      await world.says(page, /(dmca-agent|cp-agent|approver|exporter)/);
      await world.doesNotSay(page, 'Please remove our photographs');
      // The demo signs checkpoints: the latest is on the page, to keep elsewhere.
      await world.says(page, /takedown-audit-checkpoint 1\s+entries \d+/);
    }],
    ['filters by staff member and action', async () => {
      const page = await world.page('auditor');
      await page.fill('input[name="staff"]', 'cp-agent');
      await page.selectOption('select[name="action"]', 'view-case');
      await world.submit(page, page.getByRole('button', { name: 'Filter' }), 'auditor audit log filtered');
      const rows = await page.$$eval('table.audit-log tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      expect(rows.length > 0, 'no case view by cp-agent listed');
      expect(rows.every((cells) => cells[2] === 'cp-agent' && cells[3] === 'view-case'), `rows outside the filter: ${JSON.stringify(rows.slice(0, 3))}`);
    }],
    ['verifies the whole chain on request, without any key', async () => {
      const page = await world.page('auditor');
      await world.submit(page, page.getByRole('link', { name: 'Verify the whole chain now' }), 'auditor chain verified');
      await world.says(page, /Intact: all \d+ entries/);
    }],
  ]);
}

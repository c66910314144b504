// The exporter downloads a case from its page; legal counsel opens it with the stock `age` CLI
// and checks it with `sha256sum -c MANIFEST.sha256`.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { flow, expect, excerpt } from '../lib/harness.mjs';

export async function exportFlows(world) {
  const state = {};
  await flow(world, 'Exporter', [
    ['opens a case and downloads its encrypted export', async () => {
      const page = await world.page('exporter');
      state.case = world.dmca?.granted;
      if (!state.case) {
        // The DMCA flow failed before recording; take the first case of the log instead.
        await world.goto(page, '/cases', 'exporter case log');
        const href = await page.locator('a[href^="/cases/"]').first().getAttribute('href');
        state.case = href.split('/').pop();
      }
      await world.goto(page, `/cases/${state.case}`, 'exporter case page with the export');
      await world.says(page, 'Export for legal');
      const download = page.waitForEvent('download', { timeout: 30_000 });
      await page.getByRole('button', { name: 'Download encrypted export' }).click();
      const file = await download;
      state.name = file.suggestedFilename();
      expect(state.name.startsWith(`takedown-case-${state.case}-`), `the download is named ${state.name}`);
      state.file = path.join(world.tmp, 'export.age');
      await file.saveAs(state.file);
      const failure = await file.failure();
      expect(!failure, `the download failed: ${failure}`);
      await world.visit(page, 'exporter case page after the download');
      expect(fs.statSync(state.file).size > 0, 'the download is empty');
    }],
    ['age -d with the demo counsel key opens it and sha256sum -c MANIFEST.sha256 passes', async () => {
      const unpacked = path.join(world.tmp, 'export');
      fs.mkdirSync(unpacked, { recursive: true });
      const tar = execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | tar x -C "$3"', 'sh', world.counselIdentity, state.file, unpacked], { timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      void tar;
      const bundles = fs.readdirSync(unpacked).filter((n) => n.startsWith('takedown-export-'));
      expect(bundles.length === 1, `the archive holds ${JSON.stringify(fs.readdirSync(unpacked))}, not one takedown-export-* directory`);
      const bundle = path.join(unpacked, bundles[0]);
      let check;
      try {
        check = execFileSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: bundle, timeout: 30_000, encoding: 'utf8' });
      } catch (err) {
        throw new Error(`sha256sum -c failed: ${err.stdout}${err.stderr}`);
      }
      expect(/: OK$/m.test(check), `sha256sum checked nothing: ${check}`);
      const cases = fs.readdirSync(path.join(bundle, 'cases'));
      const all = cases.map((n) => fs.readFileSync(path.join(bundle, 'cases', n), 'utf8')).join('\n');
      expect(all.includes(state.case), `the bundle's cases/ (${cases.join(', ')}) do not hold case ${state.case}`);
      const audit = fs.readFileSync(path.join(bundle, 'audit.jsonl'), 'utf8');
      expect(audit.includes('"action":"export"'), `the export's own audit entry is not in the bundle: ${excerpt(audit, 300)}`);
    }],
    ['the appliance\'s own store key cannot open it', async () => {
      let opened = true;
      try {
        execFileSync('age', ['-d', '-i', path.join(world.demoDir, 'keys', 'store-identity'), '-o', '/dev/null', state.file], { timeout: 30_000, stdio: 'ignore' });
      } catch {
        opened = false;
      }
      expect(!opened, 'the store identity opened a legal export');
    }],
  ]);
}

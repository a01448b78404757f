// The HTML report, opened in a real browser (Debian's chromium through
// playwright-core): the table, the figures and the claims are there, nothing
// is fetched from the network, and the console stays clean.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { checkClaims } from '../../src/report/claims.ts';
import { pngSize } from '../../src/report/figure.ts';
import { escapeHtml, prefixSvgIds, renderReport, reportFigures } from '../../src/report/html.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { buildTable } from '../../src/report/table.ts';
import { methodsFixture, tmpDir } from './fixture.ts';

const CHROMIUM = process.env.RLGRID_CHROMIUM ?? '/usr/bin/chromium';

describe('report/html', function () {
  this.timeout(120_000);
  let runs: string;
  let file: string;
  let html: string;

  before(async function () {
    runs = tmpDir();
    methodsFixture(runs, {
      claims: [
        { name: 'Clip-Higher keeps entropy above GRPO', metric: 'entropy_ema', expect: { greater: { method: 'Clip-Higher' }, than: { method: 'GRPO' } } },
        { name: 'GRPO is better <OOD>', metric: 'selected.average_ood.avg_at_k', expect: { greater: { method: 'GRPO' }, than: { method: 'Clip-Higher' } }, gate: false },
      ],
    });
    const { plan, records } = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
    html = renderReport({ plan, records, table: buildTable(plan, records), claims: checkClaims(plan, records), figures: await reportFigures(plan, records) });
    file = path.join(runs, 'methods-report.html');
    fs.writeFileSync(file, html);
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('is one self-contained file: no scripts, no links to fetch, ids of each SVG prefixed', function () {
    assert.ok(!/<script\b/i.test(html));
    assert.ok(!/<link\b/i.test(html));
    assert.ok(!/\bsrc="/.test(html));
    assert.ok(!/url\((?!#f\d+-)/.test(html), 'every url() points into its own figure');
    assert.equal((html.match(/<figure /g) ?? []).length, 4);
    assert.ok(html.includes('GRPO is better &lt;OOD&gt;'));
    assert.equal(prefixSvgIds('<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/></svg>', 'f2-'), '<svg><clipPath id="f2-clip1"/><g clip-path="url(#f2-clip1)"/></svg>');
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('the results table puts the headline columns first (label, n, Entropy, averages) and keeps the label column in view', function () {
    const head = /<table id="results">\n<thead><tr>(.*?)<\/tr>/.exec(html)![1];
    const cols = [...head.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(cols, ['method', 'n', 'Entropy', 'Average (ID)', 'Average (OOD)', 'id-val', 'id-hard', 'ood-logic']);
    const grpo = /<tr><td><span class="nw">GRPO<\/span><\/td>(.*?)<\/tr>/.exec(html)![1];
    assert.match(grpo, /^<td><span class="nw">3<\/span><\/td><td><span class="nw">0\.62100 ± 0\.00300<\/span><\/td>/);
    assert.match(html, /#results td:first-child, #results th:first-child \{ position: sticky; left: 0;/);
  });

  describe('in chromium', function () {
    let browser: Browser | undefined;

    before(async function () {
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`    (skipped: no chromium at ${CHROMIUM}; apt-get install -y chromium, or set RLGRID_CHROMIUM)`);
        this.skip();
      }
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      });
    });
    after(async function () {
      await browser?.close();
    });

    it('shows the table, the figures and the claims, fetches nothing and logs no error', async function () {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`, { waitUntil: 'load' });

      assert.equal(await page.title(), 'rlgrid report: methods');
      const head = await page.locator('table#results thead th').allInnerTexts();
      assert.deepEqual(head, ['method', 'n', 'Entropy', 'Average (ID)', 'Average (OOD)', 'id-val', 'id-hard', 'ood-logic']);
      const firstCells = await page.locator('table#results tbody tr td:first-child').allInnerTexts();
      assert.deepEqual(firstCells, ['GRPO', 'Clip-Higher', 'Clip-Free', 'Entropy-Adv']);
      const grpo = await page.locator('table#results tbody tr').first().locator('td').allInnerTexts();
      assert.equal(grpo[5], '37.00 ± 1.00 / 75.00 ± 2.00');
      assert.equal(await page.locator('table#results tbody tr').nth(2).locator('td').nth(1).innerText(), '2/3 (failed 1)');

      const figures = page.locator('#figures figure svg');
      assert.equal(await figures.count(), 4);
      for (let i = 0; i < 4; i++) {
        const box = await figures.nth(i).boundingBox();
        assert.ok(box && box.width > 300 && box.height > 200, `figure ${i} is drawn (${JSON.stringify(box)})`);
      }
      const legend = await page.locator('#figures figure').first().locator('svg text').allTextContents();
      for (const name of ['GRPO', 'Clip-Higher', 'Clip-Free']) assert.ok(legend.includes(name), `legend has ${name}`);

      assert.deepEqual(await page.locator('#claims-table tbody td:nth-child(4)').allInnerTexts(), ['holds', 'not shown']);
      assert.equal(await page.locator('#claims-table tbody tr').nth(1).locator('td').nth(1).innerText(), 'GRPO is better <OOD>');
      assert.equal(await page.locator('table#jobs tbody tr').count(), 12);

      const shot = await page.screenshot({ fullPage: true });
      const size = pngSize(shot);
      assert.equal(size.width, 1280);
      assert.ok(size.height > 1500, `the full page is long (${size.height})`);
      fs.writeFileSync(path.join(runs, 'report.png'), shot);

      assert.deepEqual(errors, []);
      assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), []);
      await page.close();
    });
  });
});

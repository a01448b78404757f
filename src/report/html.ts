// `rlgrid report`: one self-contained HTML page (no scripts, no network):
// the table, the figures as inline SVG, the claims with their verdicts, and
// the plan (axes and jobs).
import type { Plan } from '../grid/types.ts';
import { UserError } from '../util/errors.ts';
import { claimsSummary, num, type ClaimResult } from './claims.ts';
import { curveData, curveSpec, curveSubtitle, renderSvg } from './figure.ts';
import { displayHeader, displayRow, headlineOrder } from './format.ts';
import { formatSelector, defaultGroupAxes, displayLabel, planRecords, type LabelOrder } from './select.ts';
import type { TableModel } from './table.ts';
import type { JobRecord } from './types.ts';

export interface ReportFigure {
  metric: string;
  title: string;
  caption: string;
  svg: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Give an SVG's ids a prefix so that several inline SVGs cannot capture each other's clip paths. */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*>\s*/, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
}

/** The curves a report shows, when the runs have them. */
export function defaultFigureMetrics(records: readonly JobRecord[]): { metric: string; smooth: 'ema' | 'none' }[] {
  const validation = records.find((r) => r.config)?.config?.eval.validation ?? 'id-val';
  return [
    { metric: 'actor/entropy', smooth: 'ema' },
    { metric: 'eval:probe_entropy', smooth: 'none' },
    { metric: 'critic/score/mean', smooth: 'ema' },
    { metric: `eval:benchmarks.${validation}.avg_at_k`, smooth: 'none' },
  ];
}

/** Render the report's figures; metrics no job has are skipped. */
export async function reportFigures(
  plan: Plan,
  records: readonly JobRecord[],
  metrics: { metric: string; smooth: 'ema' | 'none' }[] = defaultFigureMetrics(records),
  labelOrder?: LabelOrder,
): Promise<ReportFigure[]> {
  const group = defaultGroupAxes(plan);
  const out: ReportFigure[] = [];
  for (const m of metrics) {
    let data;
    try {
      data = curveData(plan, records, { metric: m.metric, group, smooth: m.smooth, labelOrder });
    } catch (e) {
      if (e instanceof UserError) continue;
      throw e;
    }
    const svg = await renderSvg(curveSpec(data, { title: m.metric }));
    out.push({
      metric: m.metric,
      title: m.metric,
      caption: `${m.metric}${m.smooth === 'ema' ? ' (EMA, beta 0.6)' : ''} by ${group.join(' ') || 'job'}: ${curveSubtitle(data)}.`,
      svg,
    });
  }
  return out;
}

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 2rem auto; max-width: 1440px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.85rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th { border-bottom: 2px solid #999; } td:first-child, th:first-child { text-align: left; }
td.text, th.text { text-align: left; white-space: normal; }
#claims-table td:nth-child(2) { min-width: 14rem; }
.notes { color: #555; font-size: 0.8rem; } .meta { color: #555; }
figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; vertical-align: top; }
figcaption { font-size: 0.8rem; color: #555; max-width: 560px; }
.holds { color: #1a7f37; font-weight: bold; } .contradicted, .invalid { color: #c62828; font-weight: bold; }
.not-shown { color: #9a6700; font-weight: bold; }
.status-failed, .status-missing, .status-interrupted { color: #c62828; } .status-done { color: #1a7f37; }
code { font-size: 0.85em; }
#results td { white-space: normal; } .nw { white-space: nowrap; } .scroll { overflow-x: auto; }
#results td:first-child, #results th:first-child { position: sticky; left: 0; background: #fff; }
`;

function htmlTable(head: string[], rows: string[][], opts: { id?: string; textCols?: number[] } = {}): string {
  const cls = (i: number) => (opts.textCols?.includes(i) ? ' class="text"' : '');
  return [
    `<table${opts.id ? ` id="${opts.id}"` : ''}>`,
    `<thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

export interface ReportInput {
  plan: Plan;
  records: readonly JobRecord[];
  table: TableModel;
  claims: readonly ClaimResult[];
  figures: readonly ReportFigure[];
}

/** The report page. Deterministic: the same runs give the same bytes. */
export function renderReport(input: ReportInput): string {
  const { plan, table, claims, figures } = input;
  const all = planRecords(plan, input.records);
  const counts = new Map<string, number>();
  for (const r of all) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const statusLine = [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ');

  // headline columns (label, n, Entropy, averages) first, the label column sticky: they stay in view on a narrow screen
  const order = headlineOrder(displayHeader(table));
  const resultHead = order.map((i) => displayHeader(table)[i]);
  // a cell may wrap between its scores (" / "), never inside one
  const resultRows = table.rows.map((r) =>
    order.map((i) => displayRow(table, r)[i]).map((c) =>
      c
        .split(' / ')
        .map((part) => `<span class="nw">${escapeHtml(part)}</span>`)
        .join(' / '),
    ),
  );
  const claimRows = claims.map((c, i) => [
    String(i + 1),
    escapeHtml(c.name),
    `<code>${escapeHtml(c.metric)}</code>`,
    `<span class="${c.verdict.replace(' ', '-')}">${escapeHtml(c.verdict)}</span>`,
    c.gated ? 'yes' : 'no',
    c.estimate === null ? '—' : c.lo === null || c.hi === null ? num(c.estimate) : `${num(c.estimate)} [${num(c.lo)}, ${num(c.hi)}]`,
    escapeHtml(c.evidence) + (c.note ? `<br><em>${escapeHtml(c.note)}</em>` : ''),
  ]);
  const jobRows = all.map((r, i) => [
    String(i),
    `<code>${escapeHtml(r.id)}</code>`,
    ...plan.axes.map((a) => escapeHtml(displayLabel(r.labels[a]))),
    `<span class="status-${r.status}">${escapeHtml(r.status)}</span>`,
    r.result ? String(r.result.steps) : r.metrics.length ? `${r.metrics.length} steps logged` : '',
  ]);
  const axesList = plan.axes
    .map((a) => `<li><b>${escapeHtml(a)}</b>: ${[...new Set(all.map((r) => displayLabel(r.labels[a])))].map(escapeHtml).join(', ')}</li>`)
    .join('\n');

  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>rlgrid report: ${escapeHtml(plan.grid.name)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<h1>rlgrid report: ${escapeHtml(plan.grid.name)}</h1>`,
    `<p class="meta">grid file <code>${escapeHtml(plan.grid.file)}</code>, hash <code>${escapeHtml(plan.grid.hash.slice(0, 12))}</code>; ${all.length} jobs: ${escapeHtml(statusLine)}</p>`,
    '<section id="table">',
    `<h2>${escapeHtml(table.title)}</h2>`,
    `<div class="scroll">${htmlTable(resultHead, resultRows, { id: 'results' })}</div>`,
    `<p class="notes">${table.notes.map(escapeHtml).join('<br>')}</p>`,
    '</section>',
    '<section id="figures">',
    '<h2>Figures</h2>',
    figures.length === 0 ? '<p>No curves to draw yet (no finished job has metrics).</p>' : '',
    ...figures.map(
      (f, i) => `<figure data-metric="${escapeHtml(f.metric)}">\n${prefixSvgIds(f.svg, `f${i}-`)}\n<figcaption>${escapeHtml(f.caption)}</figcaption>\n</figure>`,
    ),
    '</section>',
    '<section id="claims">',
    '<h2>Claims</h2>',
    claims.length === 0
      ? '<p>This grid states no claims.</p>'
      : htmlTable(['#', 'claim', 'metric', 'verdict', 'gated', 'estimate [95% CI]', 'evidence'], claimRows, { id: 'claims-table', textCols: [1, 6] }),
    claims.length ? `<p class="notes">${escapeHtml(claimsSummary(claims))}. A claim holds only when its 95% interval excludes zero in the claimed direction.</p>` : '',
    '</section>',
    '<section id="plan">',
    '<h2>Plan</h2>',
    `<ul>${axesList}</ul>`,
    htmlTable(['#', 'job', ...plan.axes, 'status', 'steps'], jobRows, { id: 'jobs' }),
    plan.duplicates.length ? `<p class="notes">Merged duplicates: ${plan.duplicates.map((d) => `${escapeHtml(formatSelector(d.labels))} = ${escapeHtml(d.id)}`).join('; ')}</p>` : '',
    '</section>',
    '<footer class="notes"><p>Written by rlgrid report from the run directories.</p></footer>',
    '</body></html>',
  ];
  return parts.filter((p) => p !== '').join('\n') + '\n';
}


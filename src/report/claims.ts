// The grid's `claims:` judged over its job records (`rlgrid check`, and the
// end of `rlgrid run`). A claim holds only when its 95% interval excludes
// the null value in the claimed direction; a claim whose interval includes it
// is "not shown", never passed.
//
// - greater / less: per job, the metric as one number (metric.ts rules); the
//   difference of the two groups' means with a Welch t interval. Holds when
//   the interval lies above `margin` (greater) / below -margin (less);
//   contradicted when it lies entirely on the other side of 0.
// - within [lo, hi]: the mean over the selected jobs with a one-sample t
//   interval. Holds when the interval lies inside [lo, hi]; contradicted when
//   it lies entirely outside.
// - correlation, within runs: Spearman's rho between two series, per job
//   over the steps both have (at least 5: MIN_CORRELATION_POINTS), then the
//   mean over jobs with a t interval. Holds when the interval excludes 0 on
//   the claimed side.
// - correlation, across runs (both metrics result.json numbers, as the
//   study's Table 1: final entropy vs the selected checkpoint's score): one
//   point per distinct job the selector picks (every job without `of`),
//   Spearman's rho over them (at least 5) with a 95% Fisher-z interval
//   (variance 1.06 / (n - 3)). Holds when it excludes 0 on the claimed side.
// - below / above (paired, within a job): per job, the metric minus another
//   metric of the same job (final vs base: `probe_entropy@last3` below
//   `probe_entropy@first`); the mean difference with a one-sample t interval.
//   Pairing removes the seed-to-seed spread that a two-group test would carry.
// - increasing / decreasing over a list of groups: every consecutive step
//   judged like greater / less. Holds when every step holds, contradicted
//   when some step is contradicted; the estimate shown is the deciding step
//   (the weakest, or the most contradicting one).
// A selector whose labels exist but whose combination no planned job has
// makes the claim invalid: no run could ever fill that group.
// Every judgement needs at least two finished jobs per group (seeds).
import { fitTable, wrapText } from './fit.ts';
import type { Claim, Plan, Selector } from '../grid/types.ts';
import { MIN_CORRELATION_POINTS, spearman, spearmanInterval } from '../metrics/correlation.ts';
import { mean, sampleStd, studentTQuantile, welchInterval } from '../metrics/stats.ts';
import { UserError } from '../util/errors.ts';
import { isUsable } from './jobdir.ts';
import { describeMetric, resolveMetric, scalarOf, seriesOf, validationOnlyGaps, type ResolvedMetric } from './metric.ts';
import { formatSelector, matchesSelector, planRecords, selectorProblems } from './select.ts';
import type { JobRecord } from './types.ts';

export type Verdict = 'holds' | 'contradicted' | 'not shown' | 'invalid';

export interface GroupSummary {
  selector: Selector;
  /** jobs the selector picks (all statuses) */
  planned: number;
  /** values used (finished jobs that have the metric) */
  values: number[];
  mean: number | null;
  /** jobs picked that gave no value: "failed 1, missing 1" */
  unfinished: string;
}

export interface ClaimResult {
  name: string;
  metric: string;
  kind: 'greater' | 'less' | 'within' | 'correlation' | 'below' | 'above' | 'increasing' | 'decreasing';
  gated: boolean;
  verdict: Verdict;
  /** the judged quantity: difference of means, mean, mean rho, mean paired difference, or the deciding step of an order */
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  groups: GroupSummary[];
  /** one line a reader can check */
  evidence: string;
  /** what the metric resolved to */
  source: string | null;
  note?: string;
}

/** A short, stable number: four significant digits. */
export function num(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return String(Number(x.toPrecision(4)));
}

const signed = (x: number) => (x > 0 ? `+${num(x)}` : num(x));

function summarize(records: readonly JobRecord[], sel: Selector, value: (r: JobRecord) => number | null): GroupSummary {
  const picked = records.filter((r) => matchesSelector(r.labels, sel));
  const values: number[] = [];
  const counts = new Map<string, number>();
  for (const r of picked) {
    const v = isUsable(r) ? value(r) : null;
    if (v !== null && Number.isFinite(v)) values.push(v);
    else {
      const why = isUsable(r) ? 'no value' : r.status === 'done' ? 'no result' : r.status;
      counts.set(why, (counts.get(why) ?? 0) + 1);
    }
  }
  return {
    selector: sel,
    planned: picked.length,
    values,
    mean: values.length ? mean(values) : null,
    unfinished: [...counts.entries()].map(([k, n]) => `${k} ${n}`).join(', '),
  };
}

const groupText = (g: GroupSummary) =>
  `${formatSelector(g.selector)} ${g.mean === null ? '—' : num(g.mean)} (n=${g.values.length}${g.unfinished ? `; ${g.unfinished}` : ''})`;

/** t interval of a mean; the point itself when all values agree. */
function meanInterval(xs: readonly number[]): { mean: number; lo: number; hi: number } {
  const m = mean(xs);
  const se = sampleStd(xs) / Math.sqrt(xs.length);
  if (se === 0) return { mean: m, lo: m, hi: m };
  const t = studentTQuantile(0.975, xs.length - 1);
  return { mean: m, lo: m - t * se, hi: m + t * se };
}

function tooFew(groups: GroupSummary[]): string | null {
  const short = groups.filter((g) => g.values.length < 2);
  if (short.length === 0) return null;
  return `needs at least 2 finished jobs per group: ${groups.map(groupText).join(' vs ')}`;
}

function kindOf(c: Claim): ClaimResult['kind'] {
  const e = c.expect as Record<string, unknown>;
  if ('greater' in e) return 'greater';
  if ('less' in e) return 'less';
  for (const k of ['within', 'below', 'above', 'increasing', 'decreasing'] as const) if (k in e) return k;
  return 'correlation';
}

function judge(plan: Plan, records: JobRecord[], c: Claim): ClaimResult {
  const kind = kindOf(c);
  const base: ClaimResult = {
    name: c.name,
    metric: c.metric,
    kind,
    gated: c.gate !== false,
    verdict: 'invalid',
    estimate: null,
    lo: null,
    hi: null,
    groups: [],
    evidence: '',
    source: null,
    ...(c.note ? { note: c.note } : {}),
  };
  const e = c.expect;
  const selectors: Selector[] =
    'greater' in e ? [e.greater, e.than] : 'less' in e ? [e.less, e.than] : 'increasing' in e ? e.increasing : 'decreasing' in e ? e.decreasing : [e.of ?? {}];
  const problems = selectors.flatMap((s) => selectorProblems(plan, s));
  if (problems.length) return { ...base, evidence: problems.join('; ') };
  const scope = records.filter((r) => selectors.some((s) => matchesSelector(r.labels, s)));
  // every label exists, but the combination may not (an excluded one): no run can ever fill it
  const empty = selectors.filter((s) => !records.some((r) => matchesSelector(r.labels, s)));
  if (empty.length) return { ...base, evidence: empty.map((s) => `no planned job matches ${formatSelector(s)}`).join('; ') };
  // no job of the claim has finished yet: there is no metric to resolve, and nothing wrong with the claim
  if (!scope.some(isUsable)) {
    const groups = selectors.map((s) => summarize(records, s, () => null));
    return { ...base, groups, verdict: 'not shown', evidence: tooFew(groups)! };
  }

  let m: ResolvedMetric;
  let m2: ResolvedMetric | null = null;
  try {
    m = resolveMetric(c.metric, scope);
    if ('correlation' in e) m2 = resolveMetric(e.correlation, scope);
    if ('below' in e || 'above' in e) m2 = resolveMetric('below' in e ? e.below : e.above, scope);
  } catch (err) {
    if (err instanceof UserError) return { ...base, evidence: err.message };
    throw err;
  }
  base.source = !m2
    ? describeMetric(m)
    : 'correlation' in e
      ? `${describeMetric(m, { asSeries: true })} vs ${describeMetric(m2, { asSeries: true })}`
      : `${describeMetric(m)} minus ${describeMetric(m2)}, per job`;

  if ('greater' in e || 'less' in e) {
    const greater = 'greater' in e;
    const [selA, selB] = greater ? [e.greater, e.than] : [e.less, e.than];
    const a = summarize(records, selA, (r) => scalarOf(m, r));
    const b = summarize(records, selB, (r) => scalarOf(m, r));
    const groups = [a, b];
    const few = tooFew(groups);
    if (few) return { ...base, groups, verdict: 'not shown', estimate: a.mean !== null && b.mean !== null ? a.mean - b.mean : null, evidence: few };
    const w = welchInterval(a.values, b.values);
    const margin = e.margin ?? 0;
    let verdict: Verdict;
    if (greater) verdict = w.lo > margin ? 'holds' : w.hi < 0 ? 'contradicted' : 'not shown';
    else verdict = w.hi < -margin ? 'holds' : w.lo > 0 ? 'contradicted' : 'not shown';
    const evidence =
      `diff ${signed(w.diff)} [${num(w.lo)}, ${num(w.hi)}] (95% Welch)` +
      (margin ? `, margin ${num(margin)}` : '') +
      `: ${groupText(a)} vs ${groupText(b)}`;
    return { ...base, groups, verdict, estimate: w.diff, lo: w.lo, hi: w.hi, evidence };
  }

  if ('within' in e) {
    const [lo, hi] = e.within;
    const g = summarize(records, e.of, (r) => scalarOf(m, r));
    const few = tooFew([g]);
    if (few) return { ...base, groups: [g], verdict: 'not shown', estimate: g.mean, evidence: few };
    const ci = meanInterval(g.values);
    const verdict: Verdict = ci.lo >= lo && ci.hi <= hi ? 'holds' : ci.hi < lo || ci.lo > hi ? 'contradicted' : 'not shown';
    const evidence = `mean ${num(ci.mean)} [${num(ci.lo)}, ${num(ci.hi)}] (95% t) vs band [${num(lo)}, ${num(hi)}]: ${groupText(g)}`;
    return { ...base, groups: [g], verdict, estimate: ci.mean, lo: ci.lo, hi: ci.hi, evidence };
  }

  if ('below' in e || 'above' in e) {
    const below = 'below' in e;
    const other = m2!;
    const g = summarize(records, e.of, (r) => {
      const a = scalarOf(m, r);
      const b = scalarOf(other, r);
      return a === null || b === null ? null : a - b;
    });
    const few = tooFew([g]);
    if (few) return { ...base, groups: [g], verdict: 'not shown', estimate: g.mean, evidence: `paired difference per job: ${few}` };
    const ci = meanInterval(g.values);
    const margin = e.margin ?? 0;
    const verdict: Verdict = below
      ? ci.hi < -margin ? 'holds' : ci.lo > 0 ? 'contradicted' : 'not shown'
      : ci.lo > margin ? 'holds' : ci.hi < 0 ? 'contradicted' : 'not shown';
    const evidence =
      `paired diff ${signed(ci.mean)} [${num(ci.lo)}, ${num(ci.hi)}] (95% t over jobs)` +
      (margin ? `, margin ${num(margin)}` : '') +
      `: ${c.metric} minus ${below ? e.below : e.above} per job, ${groupText(g)}`;
    return { ...base, groups: [g], verdict, estimate: ci.mean, lo: ci.lo, hi: ci.hi, evidence };
  }

  if ('increasing' in e || 'decreasing' in e) {
    const up = 'increasing' in e;
    const groups = (up ? e.increasing : e.decreasing).map((s) => summarize(records, s, (r) => scalarOf(m, r)));
    const few = tooFew(groups);
    if (few) return { ...base, groups, verdict: 'not shown', evidence: few };
    const margin = e.margin ?? 0;
    // step i: group i+1 minus group i, each judged like greater (up) / less
    const steps = groups.slice(1).map((g, i) => welchInterval(g.values, groups[i].values));
    const holds = (w: { lo: number; hi: number }) => (up ? w.lo > margin : w.hi < -margin);
    const against = (w: { lo: number; hi: number }) => (up ? w.hi < 0 : w.lo > 0);
    const verdict: Verdict = steps.every(holds) ? 'holds' : steps.some(against) ? 'contradicted' : 'not shown';
    // the step that decides: the weakest one, or when contradicted the most contradicting one
    const weakest =
      verdict === 'contradicted'
        ? steps.reduce((a, b) => (up ? (b.hi < a.hi ? b : a) : b.lo > a.lo ? b : a))
        : steps.reduce((a, b) => (up ? (b.lo < a.lo ? b : a) : b.hi > a.hi ? b : a));
    const evidence =
      steps.map((w, i) => `${formatSelector(groups[i + 1].selector)} - ${formatSelector(groups[i].selector)} ${signed(w.diff)} [${num(w.lo)}, ${num(w.hi)}]`).join('; ') +
      ` (95% Welch${margin ? `, margin ${num(margin)}` : ''}): ${groups.map(groupText).join(', ')}`;
    return { ...base, groups, verdict, estimate: weakest.diff, lo: weakest.lo, hi: weakest.hi, evidence };
  }

  // correlation
  const other = m2!;
  const of = e.of ?? {};
  const positive = e.sign === 'positive';
  const bySign = (lo: number, hi: number): Verdict =>
    positive ? (lo > 0 ? 'holds' : hi < 0 ? 'contradicted' : 'not shown') : hi < 0 ? 'holds' : lo > 0 ? 'contradicted' : 'not shown';
  if (m.source === 'result' && other.source === 'result') {
    // across runs: one point per distinct job (a merged duplicate label set is the same run)
    const seen = new Set<string>();
    const distinct = records.filter((r) => matchesSelector(r.labels, of) && (seen.has(r.id) ? false : (seen.add(r.id), true)));
    const xs: number[] = [];
    const ys: number[] = [];
    for (const r of distinct) {
      const x = isUsable(r) ? scalarOf(m, r) : null;
      const y = isUsable(r) ? scalarOf(other, r) : null;
      if (x === null || y === null) continue;
      xs.push(x);
      ys.push(y);
    }
    const g: GroupSummary = { selector: of, planned: distinct.length, values: xs, mean: null, unfinished: distinct.length > xs.length ? `no value ${distinct.length - xs.length}` : '' };
    base.source = `${describeMetric(m)} vs ${describeMetric(other)}, across runs`;
    const where = `${Object.keys(of).length ? formatSelector(of) : 'every run'}: ${xs.length} of ${distinct.length} distinct runs`;
    if (xs.length < MIN_CORRELATION_POINTS)
      return { ...base, groups: [g], verdict: 'not shown', evidence: `Spearman rho across runs needs at least ${MIN_CORRELATION_POINTS} finished runs with both values (${where})` };
    const rho = spearman(xs, ys);
    if (Number.isNaN(rho)) return { ...base, groups: [g], verdict: 'not shown', evidence: `Spearman rho across runs undefined: a constant metric (${where})` };
    const ci = spearmanInterval(rho, xs.length);
    const evidence = `Spearman rho across runs ${num(rho)} [${num(ci.lo)}, ${num(ci.hi)}] (95% Fisher z), expected ${e.sign}: ${where}`;
    return { ...base, groups: [g], verdict: bySign(ci.lo, ci.hi), estimate: rho, lo: ci.lo, hi: ci.hi, evidence };
  }
  let gaps = 0;
  const rho = (r: JobRecord): number | null => {
    if (validationOnlyGaps(m, r) || validationOnlyGaps(other, r)) {
      gaps++;
      return null;
    }
    const x = new Map(seriesOf(m, r).map((p) => [p.step, p.value]));
    const pairs = seriesOf(other, r).filter((p) => x.has(p.step));
    if (pairs.length < MIN_CORRELATION_POINTS) return null;
    const v = spearman(pairs.map((p) => x.get(p.step)!), pairs.map((p) => p.value));
    return Number.isNaN(v) ? null : v;
  };
  const g = summarize(records, of, rho);
  const gapNote = gaps ? `; ${gaps} job(s) left out: eval.schedule selected evaluates only the validation benchmark between step 0 and the selected and last checkpoints` : '';
  const few = tooFew([g]);
  if (few)
    return {
      ...base,
      groups: [g],
      verdict: 'not shown',
      estimate: g.mean,
      evidence: `Spearman rho per job (a job needs at least ${MIN_CORRELATION_POINTS} evaluations): ${few}${gapNote}`,
    };
  // a correlation lies in [-1, 1]; so does its interval
  const t = meanInterval(g.values);
  const ci = { mean: t.mean, lo: Math.max(-1, t.lo), hi: Math.min(1, t.hi) };
  const verdict = bySign(ci.lo, ci.hi);
  const evidence = `mean Spearman rho ${num(ci.mean)} [${num(ci.lo)}, ${num(ci.hi)}] (95% t over jobs), expected ${e.sign}: ${groupText(g)}${gapNote}`;
  return { ...base, groups: [g], verdict, estimate: ci.mean, lo: ci.lo, hi: ci.hi, evidence };
}

/** Judge every claim of a plan over its job records (records of other grids are ignored). */
export function checkClaims(plan: Plan, records: readonly JobRecord[]): ClaimResult[] {
  const all = planRecords(plan, records);
  return plan.claims.map((c) => judge(plan, all, c));
}

/** Gated claims that did not hold (what makes `rlgrid check` exit 1). */
export function failedClaims(results: readonly ClaimResult[]): ClaimResult[] {
  return results.filter((r) => r.gated && r.verdict !== 'holds');
}

export function claimsSummary(results: readonly ClaimResult[]): string {
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const parts = (['holds', 'contradicted', 'not shown', 'invalid'] as const).filter((v) => count(v) > 0).map((v) => `${count(v)} ${v === 'holds' ? 'hold' : v}`);
  const failed = failedClaims(results).length;
  return `${results.length} claim${results.length === 1 ? '' : 's'}: ${parts.join(', ') || 'none'}; ${failed === 0 ? 'no gated claim failed' : `${failed} gated claim${failed === 1 ? '' : 's'} failed`}`;
}

// ---- rendering

const interval = (r: ClaimResult) =>
  r.estimate === null ? '—' : r.lo === null || r.hi === null ? num(r.estimate) : `${num(r.estimate)} [${num(r.lo)}, ${num(r.hi)}]`;

const gateText = (r: ClaimResult) => (r.gated ? 'yes' : 'no');

const COLORS: Record<Verdict, string> = { holds: '\x1b[32m', contradicted: '\x1b[31m', 'not shown': '\x1b[33m', invalid: '\x1b[31m' };

/** `width`: fit the terminal (report/fit.ts): claim names and metrics are cut with "…", the lines below wrap. */
export function renderClaimsTerm(results: readonly ClaimResult[], opts: { color?: boolean; width?: number } = {}): string {
  if (results.length === 0) return 'no claims in this grid\n';
  const rows = results.map((r, i) => [String(i + 1), r.name, r.metric, opts.color ? `${COLORS[r.verdict]}${r.verdict}\x1b[0m` : r.verdict, gateText(r), interval(r)]);
  const t = fitTable(['#', 'claim', 'metric', 'verdict', 'gated', 'estimate [95% CI]'], rows, {
    width: opts.width,
    color: opts.color,
    headColor: 'cyan',
    compact: true,
    keep: [0, 1, 2, 3, 4, 5],
    truncatable: (i) => i === 1 || i === 2,
  });
  const lines = results.flatMap((r, i) => [`${i + 1}. ${r.evidence}`, ...(r.source ? [`   metric: ${r.source}`] : []), ...(r.note ? [`   note: ${r.note}`] : [])]);
  return `${t.text}\n${wrapText(lines.join('\n'), opts.width)}\n${wrapText(claimsSummary(results), opts.width)}\n`;
}

export function renderClaimsMarkdown(results: readonly ClaimResult[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| # | claim | verdict | gated | estimate [95% CI] | evidence |',
    '|---:|:---|:---|:---|---:|:---|',
    ...results.map((r, i) => `| ${i + 1} | ${esc(r.name)} | ${r.verdict} | ${gateText(r)} | ${interval(r)} | ${esc(r.evidence)}${r.note ? ` (${esc(r.note)})` : ''} |`),
    '',
    claimsSummary(results),
  ];
  return lines.join('\n') + '\n';
}

// Compare two runs' training curves step by step: the core of `rlgrid
// reproduce` (is a re-run bit-exact?) and of `rlgrid diff` (where do two
// runs part ways?). Wall-time keys (`time/*`) never count.
import type { MetricRow } from './types.ts';

export type CompareVerdict = 'bit-exact' | 'within-tolerance' | 'different';

export interface Divergence {
  step: number;
  key: string;
  /** the values (undefined: the key or the step is absent on that side) */
  a: number | null | undefined;
  b: number | null | undefined;
}

export interface CompareResult {
  verdict: CompareVerdict;
  /**
   * 'different': the first step beyond the tolerance; 'within-tolerance': the
   * first step with any inexact value; 'bit-exact': null
   */
  firstDifferentStep: number | null;
  /** the first differing key at that step (keys in sorted order); null when bit-exact */
  key: string | null;
  /** first inexact value (exact inequality), whatever the tolerance */
  exact: Divergence | null;
  /** first value beyond the tolerance */
  beyond: Divergence | null;
  /** steps compared (the union of both sides) */
  steps: number;
}

export interface CompareOptions {
  /**
   * relative tolerance: |a - b| <= tolerance * max(|a|, |b|). 0 (default):
   * anything inexact is 'different'.
   */
  tolerance?: number;
  /** keys to skip besides `step`: a prefix ending in '/' or an exact key (default ['time/']) */
  ignore?: readonly string[];
}

/** Values are the same bits (NaN equals NaN; 0 and -0 differ). */
export function sameBits(a: number | null | undefined, b: number | null | undefined): boolean {
  return Object.is(a, b);
}

export function withinTolerance(a: number | null | undefined, b: number | null | undefined, tolerance: number): boolean {
  if (sameBits(a, b)) return true;
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

const ignored = (key: string, ignore: readonly string[]) =>
  key === 'step' || ignore.some((p) => (p.endsWith('/') ? key.startsWith(p) : key === p));

function byStep(rows: readonly MetricRow[]): Map<number, MetricRow> {
  const m = new Map<number, MetricRow>();
  rows.forEach((r, i) => m.set(typeof r.step === 'number' ? r.step : i + 1, r));
  return m;
}

/**
 * Compare two metrics.jsonl series. Rows pair up by `step` (by position when
 * a row has none); a step or key present on one side only is a difference.
 */
export function compareRuns(metricsA: readonly MetricRow[], metricsB: readonly MetricRow[], opts: CompareOptions = {}): CompareResult {
  const tolerance = opts.tolerance ?? 0;
  const ignore = opts.ignore ?? ['time/'];
  const a = byStep(metricsA);
  const b = byStep(metricsB);
  const steps = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  let exact: Divergence | null = null;
  let beyond: Divergence | null = null;
  for (const step of steps) {
    const ra = a.get(step);
    const rb = b.get(step);
    const keys = [...new Set([...Object.keys(ra ?? {}), ...Object.keys(rb ?? {})])].filter((k) => !ignored(k, ignore)).sort();
    for (const key of keys) {
      const va = ra ? (key in ra ? ra[key] : undefined) : undefined;
      const vb = rb ? (key in rb ? rb[key] : undefined) : undefined;
      const missing = ra === undefined || rb === undefined || va === undefined || vb === undefined;
      if (!exact && (missing || !sameBits(va, vb))) exact = { step, key, a: va, b: vb };
      if (!beyond && (missing || !withinTolerance(va, vb, tolerance))) beyond = { step, key, a: va, b: vb };
    }
    if (exact && beyond) break;
  }
  const verdict: CompareVerdict = beyond ? 'different' : exact ? 'within-tolerance' : 'bit-exact';
  const at = beyond ?? exact;
  return { verdict, firstDifferentStep: at?.step ?? null, key: at?.key ?? null, exact, beyond, steps: steps.length };
}

// The grid DSL's own rules beyond the JSON Schema: a claim's `expect` (checked
// per file), and on the merged grid the cross-references (zip groups, exclude
// and include selectors, claim selectors, the table's rows axis) against the
// axes. Problems go to the loader's context as positioned diagnostics.
import { isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Selector } from './types.ts';
import { displayPath, suggestion } from './paths.ts';
import { labelMatches, valueLabel } from './select.ts';
import { diagAt, type YamlFile } from './yamlfile.ts';
import { src, type AxisM, type Ctx, type Merged, type Src } from './merged.ts';

/** A plain object of axis -> label or value. */
export function isSelector(v: unknown): v is Selector {
  return isPlainObject(v as Json) && Object.values(v as object).every((x) => ['string', 'number', 'boolean'].includes(typeof x));
}

const EXPECT_KINDS: Record<string, { needs: string[]; allows: string[] }> = {
  greater: { needs: ['than'], allows: ['greater', 'than', 'margin'] },
  less: { needs: ['than'], allows: ['less', 'than', 'margin'] },
  within: { needs: ['of'], allows: ['within', 'of'] },
  // without `of`: every job of the grid (Table 1 across trained models)
  correlation: { needs: ['sign'], allows: ['correlation', 'sign', 'of'] },
  below: { needs: ['of'], allows: ['below', 'of', 'margin'] },
  above: { needs: ['of'], allows: ['above', 'of', 'margin'] },
  increasing: { needs: [], allows: ['increasing', 'margin'] },
  decreasing: { needs: [], allows: ['decreasing', 'margin'] },
};

/** A claim's expect: one kind, the keys that kind needs, none it does not take. */
export function checkExpect(ctx: Ctx, at: Src, e: JsonObject): void {
  const kinds = Object.keys(EXPECT_KINDS).filter((k) => k in e);
  if (kinds.length === 0) {
    ctx.at(at, `expect needs one of ${Object.keys(EXPECT_KINDS).join(', ')}`);
    return;
  }
  if (kinds.length > 1) {
    ctx.at(at, `expect has both ${kinds.map((k) => JSON.stringify(k)).join(' and ')}: a claim checks one thing`);
    return;
  }
  const spec = EXPECT_KINDS[kinds[0]];
  const aKind = `${/^[aeiou]/.test(kinds[0]) ? 'an' : 'a'} ${kinds[0]} claim`;
  for (const n of spec.needs) if (!(n in e)) ctx.at(at, `${aKind} needs ${JSON.stringify(n)}`);
  for (const k of Object.keys(e))
    if (!spec.allows.includes(k)) ctx.at(src(at.yf, [...at.raw, k]), `${JSON.stringify(k)} does not apply to ${aKind} (its keys: ${spec.allows.join(', ')})`, true);
  const w = e.within;
  if (Array.isArray(w) && typeof w[0] === 'number' && typeof w[1] === 'number' && w[0] > w[1])
    ctx.at(src(at.yf, [...at.raw, 'within']), `within [${w[0]}, ${w[1]}]: the lower bound exceeds the upper bound`);
}

// ---------------------------------------------------------------------------
// rules on the merged grid

function axisLength(a: AxisM): number | undefined {
  return a.kind === 'values' ? a.values.length : a.kind === 'variants' ? a.variants.size : undefined;
}

function axisChoices(a: AxisM): string[] {
  return a.kind === 'values' ? a.values.map(valueLabel) : a.kind === 'variants' ? [...a.variants.keys()] : [];
}

/** Check a selector against the axes (an include may give a list axis a new value). */
function checkSelector(ctx: Ctx, m: Merged, sel: Selector, at: Src, newValues = false): void {
  for (const [axis, want] of Object.entries(sel)) {
    const kat = src(at.yf, [...at.raw, axis]);
    const a = m.axes.get(axis);
    if (!a) {
      ctx.at(kat, `unknown axis ${JSON.stringify(axis)}${suggestion(axis, m.axes.keys()) || (m.axes.size ? ` (axes: ${[...m.axes.keys()].join(', ')})` : ' (the grid has no axes)')}`, true);
      continue;
    }
    if (a.kind === 'broken' || (a.kind === 'values' && newValues)) continue;
    const choices = axisChoices(a);
    if (choices.some((l) => (a.kind === 'values' ? l === valueLabel(want) : labelMatches(l, want)))) continue;
    if (a.kind === 'variants')
      ctx.at(kat, `axis ${JSON.stringify(axis)} has no label ${JSON.stringify(want)}${suggestion(String(want), choices) || ` (labels: ${choices.join(', ')})`}`);
    else ctx.at(kat, `axis ${JSON.stringify(axis)} has no value ${valueLabel(want)} (values: ${choices.join(', ')})`);
  }
}

/** The cross-references of the merged grid (once the whole extends chain is merged). */
export function checkMerged(ctx: Ctx, m: Merged, top: YamlFile): void {
  if (!m.name) ctx.diags.push(diagAt(top, [], 'missing required key "name" (the grid name: runs/<name>)'));
  // zip
  const zipped = new Map<string, Src>();
  for (const z of m.zip) {
    let ok = true;
    const seen = new Set<string>();
    z.names.forEach((n, i) => {
      const at = src(z.src.yf, [...z.src.raw, i]);
      if (!m.axes.has(n)) {
        ctx.at(at, `unknown axis ${JSON.stringify(n)}${suggestion(n, m.axes.keys())}`);
        ok = false;
      } else if (seen.has(n)) {
        ctx.at(at, `axis ${JSON.stringify(n)} appears twice in this zip group`);
        ok = false;
      } else if (zipped.has(n)) {
        ctx.at(at, `axis ${JSON.stringify(n)} is already in another zip group (${displayPath(zipped.get(n)!.raw)})`);
        ok = false;
      }
      seen.add(n);
    });
    for (const n of z.names) if (!zipped.has(n)) zipped.set(n, z.src);
    if (!ok) continue;
    const lens = z.names.map((n) => axisLength(m.axes.get(n)!));
    if (lens.some((l) => l === undefined)) continue;
    if (lens.some((l) => l !== lens[0]))
      ctx.at(z.src, `zip group [${z.names.join(', ')}] has unequal lengths: ${z.names.map((n, i) => `${n} has ${lens[i]}`).join(', ')}`);
  }
  for (const e of m.exclude) checkSelector(ctx, m, e.sel, e.src);
  for (const inc of m.include) {
    const lat = src(inc.src.yf, [...inc.src.raw, 'labels']);
    checkSelector(ctx, m, inc.labels, lat, true);
    const missing = [...m.axes.keys()].filter((a) => !(a in inc.labels));
    if (missing.length) ctx.at(lat, `an include names a label or value for every axis; missing: ${missing.join(', ')}`);
    // a new value of a list axis is allowed (seed: 4 on top of [1, 2, 3])
  }
  for (const c of m.claims) {
    const e = c.claim.expect as unknown as JsonObject;
    for (const k of ['greater', 'less', 'than', 'of'])
      if (isSelector(e[k])) checkSelector(ctx, m, e[k] as Selector, src(c.src.yf, [...c.src.raw, 'expect', k]));
    for (const k of ['increasing', 'decreasing']) {
      const list = e[k];
      if (Array.isArray(list))
        list.forEach((s, i) => {
          if (isSelector(s)) checkSelector(ctx, m, s as Selector, src(c.src.yf, [...c.src.raw, 'expect', k, i]));
        });
    }
  }
  if (m.table && !m.axes.has(m.table.spec.rows))
    ctx.at(src(m.table.src.yf, [...m.table.src.raw, 'rows']), `unknown axis ${JSON.stringify(m.table.spec.rows)}${suggestion(m.table.spec.rows, m.axes.keys())}`);
}

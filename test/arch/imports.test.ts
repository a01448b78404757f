// The floors of src/ (../shared/DESIGN.md): a module may import only from its
// own folder or from a folder on a lower floor, and no two files may import
// each other in a cycle. Static imports, `export ... from` and dynamic
// import('literal') all count; an import built from a variable cannot be seen.
import assert from 'node:assert/strict';
import { relativeImports, srcGraph, type Graph } from './graph.ts';

/** Floor of each folder under src/: imports go from a higher number to a strictly lower one. */
const FLOORS: Record<string, number> = {
  util: 0,
  config: 1,
  tasks: 1,
  metrics: 1,
  grid: 2,
  runs: 3,
  data: 4,
  nn: 5,
  grpo: 6,
  exec: 7,
  report: 7,
  cli: 8,
};

/** Upward or sideways imports between folders, as "from -> to" lines. */
export function floorViolations(graph: Graph, floors: Record<string, number>): string[] {
  const folder = (f: string) => f.split('/')[0];
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    for (const to of tos) {
      const a = folder(from);
      const b = folder(to);
      if (a === b) continue;
      if (floors[a] === undefined || floors[b] === undefined) bad.push(`${from} -> ${to} (folder without a floor)`);
      else if (floors[b] >= floors[a]) bad.push(`${from} -> ${to} (floor ${floors[a]} imports floor ${floors[b]})`);
    }
  }
  return bad;
}

/** One cycle per strongly connected component of more than one file (or a self-import). */
export function cycles(graph: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture: imports only point down the floors', () => {
  it('finds upward, sideways and unknown-folder imports and cycles in a made-up graph', () => {
    const g: Graph = new Map([
      ['grid/load.ts', ['util/errors.ts', 'grpo/trainer.ts']],
      ['exec/local.ts', ['report/table.ts']],
      ['util/errors.ts', []],
      ['grpo/trainer.ts', ['grpo/a.ts']],
      ['grpo/a.ts', ['grpo/trainer.ts']],
      ['odd/x.ts', ['util/errors.ts']],
    ]);
    assert.deepEqual(floorViolations(g, FLOORS), [
      'grid/load.ts -> grpo/trainer.ts (floor 2 imports floor 6)',
      'exec/local.ts -> report/table.ts (floor 7 imports floor 7)',
      'odd/x.ts -> util/errors.ts (folder without a floor)',
    ]);
    assert.deepEqual(cycles(g), [['grpo/a.ts', 'grpo/trainer.ts']]);
  });

  it('reads static, re-export, side-effect and dynamic imports', () => {
    const text = [
      "import { a } from '../util/a.ts';",
      "import type { B } from './b.ts';",
      "export { c } from '../grid/c.ts';",
      "import '../runs/side.ts';",
      "const m = await import('../grpo/trainer.ts');",
      "import ora from 'ora';",
    ].join('\n');
    assert.deepEqual(relativeImports(text).sort(), ['../grid/c.ts', '../grpo/trainer.ts', '../runs/side.ts', '../util/a.ts', './b.ts']);
  });

  it('src/ has no upward import and no cycle', () => {
    const g = srcGraph();
    const edges = [...g.values()].reduce((n, tos) => n + tos.length, 0);
    assert.ok(g.size > 50 && edges > 300, `read ${g.size} files and ${edges} imports under src/`);
    assert.deepEqual(floorViolations(g, FLOORS), []);
    assert.deepEqual(cycles(g), []);
  });
});

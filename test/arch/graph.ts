// The import graph of src/: which files each file imports (relative imports
// only: package imports are not the floors' business). Read by the floor rule
// (imports.test.ts) and by the staleness fingerprint's test (exec/code.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;

/** Relative imports of one source text (package imports are not the floors' business). */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

export type Graph = Map<string, string[]>;

/** Every .ts file under src/ (paths relative to it) -> the files it imports. */
export function srcGraph(): Graph {
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split(path.sep).join('/'));
  const graph: Graph = new Map();
  for (const f of files) {
    const text = fs.readFileSync(path.join(SRC, f), 'utf8');
    const tos = relativeImports(text).map((spec) => path.posix.normalize(path.posix.join(path.posix.dirname(f), spec)));
    graph.set(f, tos.filter((t) => !t.startsWith('..')));
  }
  return graph;
}

// After an rlgrid change to what counts as a job's code (src/exec/code.ts,
// CODE_PATHS), every done job reads stale once: its recorded fingerprint was
// computed under the old definition. This recomputes it from the job's
// recorded commit under the current one (nothing else in the manifest
// changes), so that exactly the jobs whose code differs read stale.
// npx tsx scripts/refingerprint.ts [RUNS_DIR]   (default: $RLGRID_RUNS_DIR, else ./runs)
import fs from 'node:fs';
import { refingerprint } from '../src/exec/code.ts';
import { openStore } from '../src/runs/store.ts';

const runs = process.argv[2] ?? process.env.RLGRID_RUNS_DIR ?? 'runs';
if (!fs.existsSync(runs) || !fs.statSync(runs).isDirectory()) {
  process.stderr.write(`error: ${runs}: no such runs directory\n`);
  process.exit(2);
}
const r = refingerprint(openStore(runs));
for (const s of r.skipped) process.stdout.write(`left alone ${s.id}: ${s.why}\n`);
process.stdout.write(`${runs}: ${r.updated.length} fingerprint${r.updated.length === 1 ? '' : 's'} recomputed, ${r.skipped.length} left alone\n`);

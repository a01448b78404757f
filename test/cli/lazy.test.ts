// Start-up cost of the CLI: every `rlgrid exec` worker loads src/cli/main.ts
// and so every command module. They must import only commander, common.ts and
// light helpers at top level; what a command needs is loaded in its action.
// Checked by tracing the modules a real `rlgrid exec --help` loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TABLE_FORMATS } from '../../src/report/format.ts';
import { FORMAT_CHOICES } from '../../src/cli/table.ts';
import { BIN, ROOT, tmpDir } from '../exec/fixtures.ts';

/** Absolute paths of the modules (ESM and CommonJS) a CLI invocation loads. */
function loadedModules(args: string[]): { files: string[]; stdout: string; status: number | null } {
  const dir = tmpDir('rlgrid-lazy-');
  try {
    const trace = path.join(dir, 'trace.txt');
    fs.writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `import fs from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) fs.appendFileSync(process.env.RLGRID_TRACE, url + '\\n');
  return next(url, context);
}
`,
    );
    fs.writeFileSync(
      path.join(dir, 'register.mjs'),
      `import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('./hooks.mjs', import.meta.url);
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const cjs = Object.keys(require.cache).map((f) => pathToFileURL(f).href);
  fs.appendFileSync(process.env.RLGRID_TRACE, cjs.map((u) => u + '\\n').join(''));
});
`,
    );
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, BIN, ...args], {
      cwd: ROOT,
      // the sources, not the bundle (bin/bundle.js): laziness is a property of
      // the imports, which the bundle keeps (one chunk per lazy import)
      env: { ...process.env, RLGRID_TRACE: trace, RLGRID_NO_BUNDLE: '1' },
      encoding: 'utf8',
    });
    const files = fs.existsSync(trace) ? [...new Set(fs.readFileSync(trace, 'utf8').trim().split('\n'))].map((u) => new URL(u).pathname) : [];
    return { files, stdout: r.stdout, status: r.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const packageOf = (file: string): string | null => /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? null;

describe('CLI start-up: command modules load lazily', function () {
  this.timeout(60_000);

  it('`rlgrid exec --help` loads only the command modules, common helpers and commander', () => {
    const { files, stdout, status } = loadedModules(['exec', '--help']);
    assert.equal(status, 0);
    assert.match(stdout, /Usage: rlgrid exec/);
    const src = files.filter((f) => f.startsWith(path.join(ROOT, 'src') + path.sep)).map((f) => path.relative(ROOT, f));
    // the trace works: it saw the entry point and the command
    assert.ok(src.includes('src/cli/main.ts') && src.includes('src/cli/exec.ts') && src.includes('src/cli/reproduce.ts'), src.join(' '));
    const allowed = (f: string) => f.startsWith('src/cli/') || ['src/util/errors.ts', 'src/util/exit-codes.ts', 'src/util/objects.ts'].includes(f);
    assert.deepEqual(src.filter((f) => !allowed(f)), []);
    // packages: commander and what tsx itself runs on, nothing a command needs
    const packages = [...new Set(files.map(packageOf).filter((p): p is string => p !== null))].sort();
    assert.ok(packages.includes('commander'), packages.join(' '));
    assert.deepEqual(packages.filter((p) => !['commander', 'tsx', 'esbuild', 'get-tsconfig', 'resolve-pkg-maps'].includes(p)), []);
  });

  it('`rlgrid table` offers the formats of report/format.ts without loading it', () => {
    assert.deepEqual(FORMAT_CHOICES, TABLE_FORMATS);
  });
});

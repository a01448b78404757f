// The CLI as compiled JavaScript: src/ bundled by esbuild into .build/<id>/
// on the first run and again whenever a source file changed (size or mtime),
// so that every `rlgrid exec` worker starts in about the time Node itself
// takes instead of loading ~90 TypeScript files through tsx. npm packages
// stay external (node_modules as they are); lazy imports stay lazy (one chunk
// each). The output sits two levels below the project root, as src/<dir>/
// files do, so their `new URL('../../...', import.meta.url)` paths hold.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = path.join(ROOT, '.build');
const CURRENT = path.join(BUILD, 'current.json');
const FORMAT = 2;

/** file: URL of the bundled CLI entry, built or rebuilt if needed; null when it cannot be built (run the sources). */
export async function bundledEntry() {
  try {
    const dir = fresh()?.dir ?? (await build());
    useBuild(dir);
    return entryOf(dir);
  } catch {
    return null;
  }
}

/**
 * A build's users: one empty file `<pid>@<host>` per process that runs from
 * it, removed when the process exits. A long `rlgrid run` imports lazy chunks
 * hours after it started, so a build is pruned only when no live process
 * uses it (test/cli/bundle.test.ts).
 */
const USERS = 'users';
const HOST = os.hostname();

function useBuild(dir) {
  const users = path.join(BUILD, dir, USERS);
  const me = path.join(users, `${process.pid}@${HOST}`);
  try {
    fs.mkdirSync(users, { recursive: true });
    fs.writeFileSync(me, '');
    process.on('exit', () => fs.rmSync(me, { force: true }));
  } catch {
    // a read-only checkout: nothing prunes it either
  }
}

const entryOf = (dir) => pathToFileURL(path.join(BUILD, dir, 'main.mjs')).href;

/** The current build if every input is as it was built from (same size and mtime), else null. */
export function fresh() {
  let cur;
  try {
    cur = JSON.parse(fs.readFileSync(CURRENT, 'utf8'));
  } catch {
    return null;
  }
  if (cur?.format !== FORMAT || cur.node !== process.version || typeof cur.dir !== 'string' || !cur.inputs) return null;
  for (const [file, s] of Object.entries(cur.inputs)) {
    let st;
    try {
      st = fs.statSync(path.join(ROOT, file));
    } catch {
      return null;
    }
    if (st.size !== s.size || st.mtimeMs !== s.mtimeMs) return null;
  }
  return fs.existsSync(path.join(BUILD, cur.dir, 'main.mjs')) ? cur : null;
}

/** Build into a fresh directory, then point current.json at it (atomic renames: concurrent workers are safe). */
export async function build() {
  const esbuild = await import('esbuild');
  fs.mkdirSync(BUILD, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(BUILD, 'tmp-'));
  // the file system's clock at the start: an input modified after it may have
  // been read before or after the change, so its stat cannot vouch for the build
  const started = fs.statSync(tmp).mtimeMs;
  try {
    const r = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { main: 'src/cli/main.ts' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // npm packages stay in node_modules, except TensorFlow.js: see tfjs-lite.js
      external: externals(),
      alias: { '@tensorflow/tfjs': './bin/tfjs-lite.js' },
      // tfjs-core's and tfjs-backend-cpu's ES module builds (their "module"), one copy of each
      mainFields: ['module', 'main'],
      // tfjs-core's ES modules still require() Node built-ins (util, ...) on Node
      banner: { js: "import { createRequire as __rlgridRequire } from 'node:module'; const require = __rlgridRequire(import.meta.url);" },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      chunkNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'silent',
    });
    // the project's own files; bundled packages are covered by package-lock.json (npm rewrites it when they change)
    const inputs = {};
    const own = Object.keys(r.metafile.inputs).filter((f) => !f.includes('node_modules/'));
    for (const file of [...own, 'package-lock.json', 'bin/bundle.js']) {
      const st = fs.statSync(path.join(ROOT, file));
      // edited during the build: recorded as unknown, so the next run rebuilds
      inputs[file] = { size: st.size, mtimeMs: st.mtimeMs >= started ? -1 : st.mtimeMs };
    }
    const dir = `b-${process.pid}-${Date.now().toString(36)}`;
    fs.renameSync(tmp, path.join(BUILD, dir));
    const next = path.join(BUILD, `.current.${process.pid}.tmp`);
    fs.writeFileSync(next, JSON.stringify({ format: FORMAT, node: process.version, dir, inputs }));
    fs.renameSync(next, CURRENT);
    prune(dir);
    return dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every package the project depends on, except the TensorFlow.js parts that are bundled. */
function externals() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const bundled = new Set(['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu']);
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
  return names.filter((n) => !bundled.has(n)).flatMap((n) => [n, `${n}/*`]);
}

/**
 * Remove builds other than `keep` that no live process uses and that nothing
 * touched for an hour (a process that has just read current.json has not
 * marked its build yet). A user on another host (a shared file system) cannot
 * be checked: its mark keeps the build for 30 days.
 */
export function prune(keep) {
  const now = Date.now();
  for (const d of fs.readdirSync(BUILD)) {
    if (d === keep || !/^(b|tmp)-/.test(d)) continue;
    const p = path.join(BUILD, d);
    try {
      const touched = Math.max(fs.statSync(p).mtimeMs, mtimeOr0(path.join(p, USERS)));
      if (liveUsers(path.join(p, USERS), now) === 0 && now - touched > 3600_000) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another process pruned it
    }
  }
}

/** Users of a build that may still be running; the marks of dead processes on this host are removed. */
function liveUsers(users, now) {
  let names;
  try {
    names = fs.readdirSync(users);
  } catch {
    return 0;
  }
  let live = 0;
  for (const name of names) {
    const at = name.indexOf('@');
    const pid = Number(name.slice(0, at));
    const mark = path.join(users, name);
    const alive = name.slice(at + 1) === HOST ? processAlive(pid) : now - mtimeOr0(mark) < 30 * 86400_000;
    if (alive) live++;
    else fs.rmSync(mark, { force: true });
  }
  return live;
}

function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM'; // alive, another user's
  }
}

function mtimeOr0(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

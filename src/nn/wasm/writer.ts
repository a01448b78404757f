// The WebAssembly module writer: a module of Fns (fn.ts) importing the tfjs
// heap as env.memory and Math.log as env.log, exporting each Fn by name.
import { F64, name, uleb } from './encoding.ts';
import type { Fn } from './fn.ts';

/** Module bytes: imports env.memory (the tfjs heap) and env.log (Math.log). */
export function buildModule(fns: Fn[]): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]) => {
    out.push(id);
    uleb(body.length, out);
    for (const b of body) out.push(b);
  };
  const types: number[] = [];
  uleb(fns.length + 1, types);
  types.push(0x60, 1, F64, 1, F64); // type 0: log
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  section(1, types);
  const imports: number[] = [];
  uleb(2, imports);
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, 0x00);
  uleb(1, imports);
  name('env', imports);
  name('log', imports);
  imports.push(0x00, 0x00); // func of type 0 (function index 0)
  section(2, imports);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => uleb(i + 1, funcs));
  section(3, funcs);
  const exps: number[] = [];
  uleb(fns.length, exps);
  fns.forEach((f, i) => {
    name(f.name, exps);
    exps.push(0x00);
    uleb(i + 1, exps); // function 0 is the imported log
  });
  section(7, exps);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) {
    const body: number[] = [];
    const groups: [number, number][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(t);
    }
    for (const b of f.code) body.push(b);
    body.push(0x0b);
    uleb(body.length, code);
    for (const b of body) code.push(b);
  }
  section(10, code);
  return new Uint8Array(out);
}

/** Index of the imported Math.log inside generated modules. */
export const LOG_FN = 0;

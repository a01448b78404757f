// The fast path's plans and memory layouts: the kernels one (config, shape)
// needs, compiled once and cached per kernel set (forward, backward and
// KV-cache decoding), and the byte layout of the activation arena in the
// tfjs-wasm heap.
import type { Kernels } from '../wasm/runtime.ts';
import { LN_EPS, type Model, type ModelConfig } from './params.ts';

/** Byte offsets of sub-buffers within one arena tensor (16-byte aligned). */
export class Layout {
  floats = 0;
  take(n: number): number {
    const off = this.floats * 4;
    this.floats += Math.ceil(n / 4) * 4;
    return off;
  }
}

type Gemm = ReturnType<Kernels['gemm']>;

/** Kernels for one (config, T, key stride LK) forward/backward, resolved once. */
export interface Plan {
  T: number;
  LK: number;
  embed: ReturnType<Kernels['embed']>;
  /** one token per "row" with offset -position: the packed (ragged) layout's embedding */
  embedTok: ReturnType<Kernels['embed']>;
  ln: ReturnType<Kernels['layerNorm']>;
  qkv: Gemm;
  ktCopy: ReturnType<Kernels['copy']>;
  scores: Gemm;
  softmax: ReturnType<Kernels['softmax']>;
  pv: Gemm;
  proj: Gemm;
  fc1: Gemm;
  gelu: ReturnType<Kernels['gelu']>;
  /** GELU that also keeps tanh(.) for the backward pass (training) */
  geluSave: ReturnType<Kernels['gelu']>;
  fc2: Gemm;
  head: Gemm;
  lpe: ReturnType<Kernels['logpEnt']>;
}

interface BackPlan {
  lnBackSet: ReturnType<Kernels['layerNormBack']>;
  lnBackAcc: ReturnType<Kernels['layerNormBack']>;
  transpose: (R: number, C: number) => ReturnType<Kernels['copy']>;
  dW: (inF: number, outF: number) => Gemm;
  dX: (inF: number, outF: number) => Gemm;
  colSum: (cols: number) => ReturnType<Kernels['colSum']>;
  vtCopy: ReturnType<Kernels['copy']>;
  dP: Gemm;
  softmaxBack: ReturnType<Kernels['softmaxBack']>;
  dQ: Gemm;
  dK: Gemm;
  dV: Gemm;
  gelu: ReturnType<Kernels['geluBack']>;
  embed: ReturnType<Kernels['embedBack']>;
  embedTok: ReturnType<Kernels['embedBack']>;
  lpe: ReturnType<Kernels['logpEntBack']>;
}

const planCache = new WeakMap<Kernels, Map<string, Plan | BackPlan | DecodePlan>>();

function cached<T extends Plan | BackPlan | DecodePlan>(K: Kernels, key: string, make: () => T): T {
  let m = planCache.get(K);
  if (!m) planCache.set(K, (m = new Map()));
  let p = m.get(key) as T | undefined;
  if (!p) m.set(key, (p = make()));
  return p;
}

function cfgKey(cfg: ModelConfig): string {
  return `${cfg.vocab}:${cfg.context}:${cfg.d_model}:${cfg.heads}:${cfg.layers}:${cfg.mlp_ratio}`;
}

/** The model's dimensions under the names the kernels' comments use. */
export function dims(cfg: ModelConfig): { D: number; H: number; DH: number; F: number; V: number; D3: number } {
  const D = cfg.d_model;
  return { D, H: cfg.heads, DH: D / cfg.heads, F: cfg.mlp_ratio * D, V: cfg.vocab, D3: 3 * D };
}

export function plan(K: Kernels, cfg: ModelConfig, T: number, LK: number): Plan {
  return cached(K, `fwd:${cfgKey(cfg)}:${T}:${LK}`, () => {
    const { D, H, DH, F, V, D3 } = dims(cfg);
    return {
      T,
      LK,
      embed: K.embed(T, D, cfg.context),
      embedTok: K.embed(1, D, cfg.context),
      ln: K.layerNorm(D, LN_EPS),
      qkv: K.gemm({ N: D3, sai: D, sak: 1, sbk: D3, sci: D3, bias: true, MC: 64, packB: true }, 'matmul.qkv'),
      ktCopy: K.copy({ n: [H, DH, T], s: [T * D3, DH, 1, D3], d: [H * DH * LK, DH * LK, LK, 1] }, 'attn.k-transpose'),
      scores: K.gemm({
        N: T, sai: D3, sak: 1, sbk: LK, sci: T,
        nb2: H, sa1: T * D3, sb1: H * DH * LK, sc1: H * T * T, sa2: DH, sb2: DH * LK, sc2: T * T,
        alpha: 1 / Math.sqrt(DH),
      }, 'attn.scores'),
      softmax: K.softmax(H, T, T),
      pv: K.gemm({ N: DH, sai: T, sak: 1, sbk: D3, sci: D, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D, sa2: T * T, sb2: DH, sc2: DH }, 'attn.pv'),
      proj: K.gemm({ N: D, sai: D, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.attn-out'),
      fc1: K.gemm({ N: F, sai: D, sak: 1, sbk: F, sci: F, bias: true, MC: 64, packB: true }, 'matmul.fc1'),
      gelu: K.gelu(),
      geluSave: K.gelu(true),
      fc2: K.gemm({ N: D, sai: F, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.fc2'),
      head: K.gemm({ N: V, sai: D, sak: 1, sbk: V, sci: V, bias: true, MC: 64, packB: true }, 'matmul.head'),
      lpe: K.logpEnt(V),
    };
  });
}

export function backPlan(K: Kernels, cfg: ModelConfig, T: number): BackPlan {
  return cached(K, `bwd:${cfgKey(cfg)}:${T}`, () => {
    const D = cfg.d_model;
    const H = cfg.heads;
    const DH = D / H;
    const D3 = 3 * D;
    const V = cfg.vocab;
    return {
      lnBackSet: K.layerNormBack(D, false),
      lnBackAcc: K.layerNormBack(D, true),
      transpose: (R, C) => K.copy({ n: [1, C, R], s: [0, 0, 1, C], d: [0, 0, R, 1] }, 'back.weight-transpose'),
      dW: (inF, outF) => K.gemm({ N: outF, sai: 1, sak: inF, sbk: outF, sci: outF, MC: 128, KC: 128, packB: true }, 'back.matmul.dW'),
      dX: (inF, outF) => K.gemm({ N: inF, sai: outF, sak: 1, sbk: inF, sci: inF, MC: 64, packB: true }, 'back.matmul.dX'),
      colSum: (cols) => K.colSum(cols, 'back.bias'),
      vtCopy: K.copy({ n: [H, DH, T], s: [T * D3, DH, 1, D3], d: [H * DH * T, DH * T, T, 1] }, 'back.attn.v-transpose'),
      dP: K.gemm({ N: T, sai: D, sak: 1, sbk: T, sci: T, nb2: H, sa1: T * D, sb1: H * DH * T, sc1: H * T * T, sa2: DH, sb2: DH * T, sc2: T * T }, 'back.attn.dP'),
      softmaxBack: K.softmaxBack(T, 1 / Math.sqrt(DH)),
      dQ: K.gemm({ N: DH, sai: T, sak: 1, sbk: D3, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      dK: K.gemm({ N: DH, sai: 1, sak: T, sbk: D3, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      dV: K.gemm({ N: DH, sai: 1, sak: T, sbk: D, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      gelu: K.geluBack(true),
      embed: K.embedBack(T, D, V, cfg.context),
      embedTok: K.embedBack(1, D, V, cfg.context),
      lpe: K.logpEntBack(V),
    };
  });
}

/** per-layer activation buffers (byte offsets relative to the arena) */
interface LayerBufs {
  x: number; // layer input (residual stream)
  mean1: number;
  rstd1: number;
  h1: number;
  qkv: number;
  /** ragged layout: the QKV rows scattered to [B, T] for attention (-1: not ragged) */
  qkvP: number;
  kt: number;
  p: number;
  att: number;
  xmid: number;
  mean2: number;
  rstd2: number;
  h2: number;
  u: number;
  g: number;
  /** GELU's tanh(.) kept for the backward pass (-1: not kept) */
  gt: number;
}

/**
 * Padded rows stored without their padding: row b's lens[b] tokens, at columns
 * first[b] .. first[b] + lens[b] - 1 of its T (first[b] = 0: right padding;
 * the left padding otherwise), packed at token index starts[b] of n. Every
 * token-wise step (the linear layers, LayerNorm, GELU, the head) runs on the
 * n real tokens only; attention runs on rows scattered back to [B, T]
 * (padding zeroed), which a row's real positions never read. Each token's
 * numbers are those of the padded layout bit for bit, and every sum over
 * tokens (weight and bias gradients, LayerNorm and embedding gradients) adds
 * the same non-zero terms in the same order: the padding's terms are exact
 * zeros there.
 */
export interface Ragged {
  lens: Int32Array;
  first: Int32Array;
  starts: Int32Array;
  n: number;
}

export function ragged(lens: Int32Array, first = new Int32Array(lens.length)): Ragged {
  const starts = new Int32Array(lens.length);
  let n = 0;
  lens.forEach((l, b) => {
    starts[b] = n;
    n += l;
  });
  return { lens, first, starts, n };
}

export interface FwdLayout {
  lay: Layout;
  /** the packed layout's rows, or null: B x T padded */
  ragged: Ragged | null;
  /** token count of the token-wise buffers (rg.n, or B * T) */
  N: number;
  tok: number;
  /** per-row left padding [B]; ragged: minus each token's position [N] */
  offs: number;
  /** ragged: the left padding per row [B], for attention; else offs */
  rowOffs: number;
  tgt: number;
  layers: LayerBufs[];
  xL: number;
  meanf: number;
  rstdf: number;
  hf: number;
  logits: number;
  s: number; // scores scratch
  /** ragged: attention's output as [B, T, D] before it is gathered (-1: not ragged) */
  attP: number;
  pack: number; // GEMM B-panel scratch
  logp: number;
  ent: number;
}

/**
 * Arena layout for a forward over B x T. With `distinct` every layer gets its
 * own buffers (kept for the backward pass); without, layers share one set.
 * `ktExternal`: K^T goes to a caller's buffer (the KV cache) instead.
 */
export function fwdLayout(cfg: ModelConfig, B: number, T: number, distinct: boolean, ktExternal: boolean, rg: Ragged | null = null): FwdLayout {
  const lay = new Layout();
  const N = rg ? rg.n : B * T;
  const D = cfg.d_model;
  const F = cfg.mlp_ratio * D;
  const H = cfg.heads;
  const tok = lay.take(N);
  const offs = lay.take(rg ? N : B);
  const rowOffs = rg ? lay.take(B) : offs;
  const tgt = lay.take(N);
  const layerBufs = (x: number): LayerBufs => ({
    x,
    mean1: lay.take(N),
    rstd1: lay.take(N),
    h1: lay.take(N * D),
    qkv: lay.take(N * 3 * D),
    qkvP: rg ? lay.take(B * T * 3 * D) : -1,
    kt: ktExternal ? -1 : lay.take(B * T * D),
    p: lay.take(B * H * T * T),
    att: lay.take(N * D),
    xmid: lay.take(N * D),
    mean2: lay.take(N),
    rstd2: lay.take(N),
    h2: lay.take(N * D),
    u: lay.take(N * F),
    g: lay.take(N * F),
    gt: distinct ? lay.take(N * F) : -1,
  });
  const layers: LayerBufs[] = [];
  let xL: number;
  if (distinct) {
    let x = lay.take(N * D);
    for (let l = 0; l < cfg.layers; l++) {
      layers.push(layerBufs(x));
      x = lay.take(N * D);
    }
    xL = x;
  } else {
    // one set of buffers; the residual stream alternates between two
    const res = [lay.take(N * D), lay.take(N * D)];
    const shared = layerBufs(res[0]);
    for (let l = 0; l < cfg.layers; l++) layers.push({ ...shared, x: res[l % 2] });
    xL = res[cfg.layers % 2];
  }
  return {
    lay,
    ragged: rg,
    N,
    tok,
    offs,
    rowOffs,
    tgt,
    layers,
    xL,
    meanf: lay.take(N),
    rstdf: lay.take(N),
    hf: lay.take(N * D),
    logits: lay.take(N * cfg.vocab),
    s: lay.take(B * H * T * T),
    attP: rg ? lay.take(B * T * D) : -1,
    pack: lay.take(Math.max(D * 3 * D, D * F, D * cfg.vocab)),
    logp: lay.take(N),
    ent: lay.take(N),
  };
}

/** Byte pointers of the parameters. */
export function paramPtrs(K: Kernels, model: Model): number[] {
  return model.params.map((p) => K.ptr(p));
}

/** The output of layer l (input of l+1, or xL for the last). */
export function layerOut(fl: FwdLayout, l: number): number {
  return l + 1 < fl.layers.length ? fl.layers[l + 1].x : fl.xL;
}

export interface DecodePlan {
  embed: ReturnType<Kernels['embed']>;
  ln: ReturnType<Kernels['layerNorm']>;
  qkv: Gemm;
  kWrite: ReturnType<Kernels['copy']>;
  vWrite: ReturnType<Kernels['copy']>;
  /** scores against the first n cache columns (n a multiple of 8 covering the filled ones) */
  scores: (n: number) => Gemm;
  softmax: ReturnType<Kernels['softmax']>;
  pv: Gemm;
  proj: Gemm;
  fc1: Gemm;
  gelu: ReturnType<Kernels['gelu']>;
  fc2: Gemm;
  head: Gemm;
  lpe: ReturnType<Kernels['logpEnt']>;
}

export function decodePlan(K: Kernels, cfg: ModelConfig, C: number): DecodePlan {
  return cached(K, `dec:${cfgKey(cfg)}:${C}`, () => {
    const { D, H, DH, F, V, D3 } = dims(cfg);
    const scoresByWidth: Gemm[] = [];
    return {
      embed: K.embed(1, D, cfg.context),
      ln: K.layerNorm(D, LN_EPS),
      qkv: K.gemm({ N: D3, sai: D, sak: 1, sbk: D3, sci: D3, bias: true, MC: 64, packB: true }, 'matmul.qkv'),
      kWrite: K.copy({ n: [H, DH, 1], s: [D3, DH, 1, 0], d: [H * DH * C, DH * C, C, 1] }, 'kv-cache.write'),
      vWrite: K.copy({ n: [1, 1, D], s: [D3, 0, 0, 1], d: [C * D, 0, 0, 1] }, 'kv-cache.write'),
      // one kernel per width, looked up here rather than by its spec's JSON in every decoding step
      scores: (n: number) =>
        (scoresByWidth[n] ??= K.gemm({
          N: n, sai: D3, sak: 1, sbk: C, sci: C,
          nb2: H, sa1: D3, sb1: H * DH * C, sc1: H * C, sa2: DH, sb2: DH * C, sc2: C,
          alpha: 1 / Math.sqrt(DH),
        }, 'attn.scores')),
      softmax: K.softmax(H, 1, C),
      pv: K.gemm({ N: DH, sai: C, sak: 1, sbk: D, sci: D, nb2: H, sa1: H * C, sb1: C * D, sc1: D, sa2: C, sb2: DH, sc2: DH }, 'attn.pv'),
      proj: K.gemm({ N: D, sai: D, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.attn-out'),
      fc1: K.gemm({ N: F, sai: D, sak: 1, sbk: F, sci: F, bias: true, MC: 64, packB: true }, 'matmul.fc1'),
      gelu: K.gelu(),
      fc2: K.gemm({ N: D, sai: F, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.fc2'),
      head: K.gemm({ N: V, sai: D, sak: 1, sbk: V, sci: V, bias: true, MC: 64 }, 'matmul.head'),
      lpe: K.logpEnt(V),
    };
  });
}

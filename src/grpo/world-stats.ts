// A world's position-class statistics over sampled responses: how a world
// that names its positions (TaskWorld.positionClasses: 'neutral', 'fork',
// 'lit') splits entropy, what its reward-neutral choices depend on, and how
// many rare tokens its correct responses hold. The base model's report and
// every evaluation's probe entropy (eval.jsonl) read it.
import type { Problem, TaskWorld } from '../tasks/index.ts';
import type { Generation } from '../nn/sampling.ts';

export interface WorldStats {
  /** share of the sampled responses' entropy (summed over tokens) at each position class */
  entropyShare: Record<string, number>;
  /** mean token entropy at each position class, and the share of tokens in it */
  entropyMean: Record<string, number>;
  tokenShare: Record<string, number>;
  /**
   * Context-dependence of the neutral choices: H(marginal of sampled neutral
   * tokens) minus the mean entropy at neutral positions (a plug-in mutual
   * information between context and choice, nats), and the marginal entropy.
   */
  neutralMarginalEntropy: number;
  neutralContextInformation: number;
  /** correct sampled responses: tokens of probability 0.01-0.2 per response, their mean probability */
  rareTokensPerCorrectResponse: number;
  rareTokenMeanProb: number;
}

/** The world's position-class statistics over sampled responses (those whose trace parses count by class). */
export function worldStats(world: TaskWorld, samples: { problem: Problem; gen: Generation; reward: number }[]): WorldStats {
  const ent = new Map<string, [number, number]>();
  const marg = new Map<number, number>();
  let neutralN = 0;
  let neutralH = 0;
  let rare = 0;
  let rareP = 0;
  let correct = 0;
  for (const { problem, gen, reward } of samples) {
    const cls = world.positionClasses ? world.positionClasses(problem, gen.text) : [];
    gen.tokens.forEach((tok, t) => {
      const c = cls[t] ?? 'lit';
      const e = ent.get(c) ?? [0, 0];
      e[0] += gen.entropy[t];
      e[1]++;
      ent.set(c, e);
      if (c === 'neutral') {
        neutralN++;
        neutralH += gen.entropy[t];
        marg.set(tok, (marg.get(tok) ?? 0) + 1);
      }
      if (reward === 1) {
        const p = Math.exp(gen.logp[t]);
        if (p >= 0.01 && p <= 0.2) {
          rare++;
          rareP += p;
        }
      }
    });
    if (reward === 1) correct++;
  }
  const total = [...ent.values()].reduce((a, [h]) => a + h, 0);
  const tokens = [...ent.values()].reduce((a, [, n]) => a + n, 0);
  const entropyShare: Record<string, number> = {};
  const entropyMean: Record<string, number> = {};
  const tokenShare: Record<string, number> = {};
  for (const [c, [h, n]] of [...ent].sort()) {
    entropyShare[c] = h / total;
    entropyMean[c] = h / n;
    tokenShare[c] = n / tokens;
  }
  let hm = 0;
  for (const n of marg.values()) hm -= (n / neutralN) * Math.log(n / neutralN);
  return {
    entropyShare,
    entropyMean,
    tokenShare,
    neutralMarginalEntropy: neutralN ? hm : NaN,
    neutralContextInformation: neutralN ? hm - neutralH / neutralN : NaN,
    rareTokensPerCorrectResponse: correct ? rare / correct : NaN,
    rareTokenMeanProb: rare ? rareP / rare : NaN,
  };
}

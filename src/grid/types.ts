// The grid DSL as values, and the frozen plan it expands to. Shared by the
// planner (src/grid), the executor (src/exec) and the reports (src/report).
import type { JobConfig } from '../config/job.ts';
import type { Json, JsonObject } from '../util/objects.ts';

/** axis name -> label (named variant) or value (plain axis, as canonical JSON text) */
export type Labels = Record<string, string>;

/** Picks jobs by some of their labels, e.g. {method: "Clip-Higher"}. */
export type Selector = Record<string, string | number | boolean>;

export type ClaimExpect =
  /** mean(metric | greater) - mean(metric | than) > margin (default 0), judged by its interval */
  | { greater: Selector; than: Selector; margin?: number }
  | { less: Selector; than: Selector; margin?: number }
  /** the metric's mean over the selected jobs lies in [lo, hi] */
  | { within: [number, number]; of: Selector }
  /**
   * Spearman correlation has this sign: of two per-evaluation series within
   * each selected job, or, when both metrics are result.json numbers, across
   * the selected jobs (one point per distinct job; no `of`: every job)
   */
  | { correlation: string; sign: 'positive' | 'negative'; of?: Selector }
  /** within each selected job, metric - other metric (e.g. probe_entropy@last3 vs probe_entropy@first) is below -margin / above margin */
  | { below: string; of: Selector; margin?: number }
  | { above: string; of: Selector; margin?: number }
  /** the groups' means rise (fall) at every step of the list, each step judged like greater (less) */
  | { increasing: Selector[]; margin?: number }
  | { decreasing: Selector[]; margin?: number };

export interface Claim {
  name: string;
  /** metric the claim reads (a result.json path or an eval/metric series name, see docs) */
  metric: string;
  expect: ClaimExpect;
  /** false: reported but never fails `rlgrid check` (a finding that does not transfer) */
  gate?: boolean;
  /** evidence or explanation shown beside the verdict */
  note?: string;
}

export interface TableSpec {
  /** built-in layout of the study */
  layout?: 'table1' | 'table1-checkpoints' | 'table2' | 'table3';
  /** axis whose labels are the rows */
  rows: string;
  /** 'benchmarks' or a metric list */
  columns?: 'benchmarks' | string[];
  /** cell template, e.g. "avg@k / pass@k" */
  cell?: string;
}

/** A grid file after loading, extends-merging and validation (before expansion). */
export interface Grid {
  version: 1;
  name: string;
  description?: string;
  /** absolute path of the file loaded */
  file: string;
  /** sha256 of the canonical JSON of the merged grid (extends included) */
  hash: string;
  base: JsonObject;
  /** axis name -> list of values (plain axis on the dotted path `name`) or label -> patch */
  axes: Record<string, { kind: 'values'; path: string; values: Json[] } | { kind: 'variants'; variants: Record<string, JsonObject> }>;
  zip: string[][];
  exclude: Selector[];
  /** labels: a label or value label (canonical JSON) for every axis; patch: applied after the axes' patches */
  include: { labels: Labels; patch: JsonObject }[];
  claims: Claim[];
  table?: TableSpec;
}

export interface PlannedJob {
  /** short content hash of canonical(config) */
  id: string;
  /** position of this job in the plan (Slurm array index) */
  index: number;
  labels: Labels;
  config: JobConfig;
}

export interface Plan {
  version: 1;
  /** file: the grid file relative to the project root (posix separators), absolute when outside it */
  /** overrides: the --set / --seeds options the plan was made with (src/grid/overrides.ts); hash then covers them */
  grid: { name: string; file: string; hash: string; overrides?: string[] };
  /** axis names in declaration order (columns of tables) */
  axes: string[];
  jobs: PlannedJob[];
  /** label sets that resolved to the same config as an earlier job (merged into it) */
  duplicates: { id: string; labels: Labels }[];
  claims: Claim[];
  table?: TableSpec;
}

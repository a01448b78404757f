// The grid DSL's JSON Schema, generated from schema/job.schema.json so the
// two cannot drift: `base`, variant patches and include patches are partial
// job configs (every `required` dropped, every key may also be `~unset`), and
// a patch's top-level keys may be dotted config paths (`train.clip.high`),
// each listed so editors complete them. schema/grid.schema.json is this
// function's output (`node --import tsx src/grid/gen-schema.ts` rewrites it; a
// test checks the committed file is current).
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, any>;

/** The value that removes a key from the merged config, so its default applies again. */
export const UNSET = '~unset';

export const JOB_SCHEMA_URL = new URL('../../schema/job.schema.json', import.meta.url);
export const GRID_SCHEMA_URL = new URL('../../schema/grid.schema.json', import.meta.url);

let jobSchemaCache: Schema | undefined;
export function jobSchema(): Schema {
  jobSchemaCache ??= JSON.parse(readFileSync(JOB_SCHEMA_URL, 'utf8')) as Schema;
  return jobSchemaCache;
}

/** `~unset` or the schema: how every key of a partial config is wrapped. */
function unsettable(s: Schema): Schema {
  const out: Schema = { if: { const: UNSET }, then: true, else: s };
  if (s.description) out.description = s.description;
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function isObjectSchema(s: Schema): boolean {
  return s.type === 'object' && typeof s.properties === 'object';
}

/**
 * Definitions of the partial config, one per config path: `$defs["cfg:train.clip"]`.
 * Children are `$ref`s to their own definitions, so ajv compiles each node once
 * and a dotted patch key (`train.clip.high`) is just a `$ref` to its node.
 */
type Defs = Record<string, Schema>;

const defRef = (p: string): Schema => ({ $ref: `#/$defs/cfg:${p}` });

/** The definition of a child path (registered in `defs` when given, else inline). */
function child(v: Schema, p: string, defs: Defs | undefined): Schema {
  if (!defs) return unsettable(partial(v, p, defs));
  defs[`cfg:${p}`] = {}; // parents before children, in the schema file and in did-you-mean lists
  defs[`cfg:${p}`] = unsettable(partial(v, p, defs));
  return defRef(p);
}

function partialObject(s: Schema, p: string, defs: Defs | undefined): Schema {
  const out: Schema = { type: 'object', additionalProperties: false, properties: {} };
  if (s.description) out.description = s.description;
  for (const [k, v] of Object.entries(s.properties as Record<string, Schema>)) out.properties[k] = child(v, p ? `${p}.${k}` : k, defs);
  return out;
}

/**
 * A union of object schemas told apart by one `const` property (a method's
 * `mode` / `schedule`) becomes one object with every branch's properties, plus
 * one if/then per branch that allows only that branch's keys once its mode is
 * given. A partial without the mode key is accepted (the mode may come from the
 * base or another patch); the resolved job is checked against job.schema.json.
 */
function discriminatedUnion(branches: Schema[], p: string, defs: Defs | undefined): Schema {
  const keys = Object.keys(branches[0].properties as object);
  const d = keys.find((k) => branches.every((b) => b.properties?.[k]?.const !== undefined));
  if (d === undefined) throw new Error('job schema: object union without a discriminating const property');
  const out: Schema = { type: 'object', additionalProperties: false, properties: {} };
  out.properties[d] = child({ enum: branches.map((b) => b.properties[d].const) }, `${p}.${d}`, defs);
  const seen = new Map<string, Schema[]>();
  for (const b of branches)
    for (const [k, v] of Object.entries(b.properties as Record<string, Schema>)) {
      if (k === d) continue;
      const list = seen.get(k) ?? [];
      if (!list.some((x) => JSON.stringify(x) === JSON.stringify(v))) list.push(v);
      seen.set(k, list);
    }
  for (const [k, list] of seen)
    out.properties[k] = child(list.length === 1 ? list[0] : { anyOf: list }, `${p}.${k}`, defs);
  out.allOf = branches.map((b) => ({
    if: { type: 'object', properties: { [d]: { const: b.properties[d].const } }, required: [d] },
    then: {
      type: 'object',
      $comment: `${d} ${JSON.stringify(b.properties[d].const)}`,
      properties: Object.fromEntries(Object.keys(b.properties).map((k) => [k, true])),
      additionalProperties: false,
    },
  }));
  return out;
}

/** The partial (patch) form of the job-schema node at config path `p`. */
export function partial(s: Schema, p = '', defs?: Defs): Schema {
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) {
    const kw = Array.isArray(s.oneOf) ? 'oneOf' : 'anyOf';
    const branches = s[kw] as Schema[];
    const nullable = branches.some((b) => b.type === 'null');
    const objs = branches.filter((b) => b.type === 'object');
    const others = branches.filter((b) => b.type !== 'null' && b.type !== 'object');
    if (objs.length > 0 && others.length === 0) {
      const out = objs.length === 1 ? partialObject(objs[0], p, defs) : discriminatedUnion(objs, p, defs);
      if (nullable) out.type = ['object', 'null'];
      if (s.description) out.description = s.description;
      return out;
    }
    // scalar alternatives (a number or "initial"): no children to register
    const out: Schema = { [kw]: branches.map((b) => partial(b, p, undefined)) };
    if (s.description) out.description = s.description;
    return out;
  }
  if (isObjectSchema(s)) return partialObject(s, p, defs);
  return clone(s);
}

/** The partial job config as one definition per config path (see Defs). */
export function partialDefs(): Defs {
  const defs: Defs = {};
  partialObject(jobSchema(), '', defs);
  return defs;
}

/** Every config path (dotted) with the JSON pointer of its definition in the grid schema. */
export function configPaths(defs: Defs): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of Object.keys(defs)) if (k.startsWith('cfg:')) out.set(k.slice(4), `#/$defs/${k}`);
  return out;
}

const SELECTOR: Schema = {
  type: 'object',
  description: 'axis name -> label (named variants) or value (list axes); a job matches when all given axes match',
  minProperties: 1,
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};

/** Build the grid schema (the content of schema/grid.schema.json). */
export function buildGridSchema(): Schema {
  const defs = partialDefs();
  const paths = configPaths(defs);
  const patchProps: Record<string, Schema> = {};
  for (const [p, ptr] of paths) patchProps[p] = { $ref: ptr };
  const axisProps: Record<string, Schema> = {};
  for (const [p, ptr] of paths)
    axisProps[p] = {
      if: { type: 'array' },
      then: { type: 'array', minItems: 1, items: { $ref: ptr } },
      else: { $ref: '#/$defs/variantAxis' },
    };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://rlgrid.dev/schema/grid.schema.json',
    title: 'rlgrid grid',
    description:
      'A declarative experiment grid (docs/grid-dsl.md). Generated from schema/job.schema.json by src/grid/schema.ts: do not edit by hand.',
    type: 'object',
    additionalProperties: false,
    required: ['version'],
    patternProperties: { '^x-': { description: 'ignored: a place for YAML anchors (&name) that patches reuse (*name)' } },
    properties: {
      version: { const: 1, description: 'DSL version (1)' },
      name: { type: 'string', description: 'grid name: the run directory runs/<name>' },
      description: { type: 'string' },
      extends: { type: 'string', minLength: 1, description: 'a parent grid file, relative to this file; this file is merged over it' },
      base: { $ref: '#/$defs/patch', description: 'partial job config every job starts from' },
      axes: {
        type: 'object',
        description: 'axis name -> list of values (the name is a dotted config path) or map of named variants (label -> patch)',
        properties: axisProps,
        additionalProperties: { $ref: '#/$defs/variantAxis' },
      },
      zip: {
        type: 'array',
        description: 'groups of axes that advance together instead of forming a product (equal lengths)',
        items: { type: 'array', minItems: 2, items: { type: 'string' } },
      },
      exclude: { type: 'array', description: 'drop the jobs matching any of these selectors', items: { $ref: '#/$defs/selector' } },
      include: {
        type: 'array',
        description: 'extra jobs appended after the product: a label or value for every axis, and an optional patch applied last',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['labels'],
          properties: { labels: { $ref: '#/$defs/selector' }, patch: { $ref: '#/$defs/patch' } },
        },
      },
      claims: {
        type: 'array',
        description: 'findings to check; {~unset: name} removes a claim of the parent grid',
        items: {
          if: { type: 'object', required: [UNSET], properties: { [UNSET]: true } },
          then: { type: 'object', additionalProperties: false, properties: { [UNSET]: { type: 'string', minLength: 1, description: "name of the parent grid's claim to remove" } } },
          else: { $ref: '#/$defs/claim' },
        },
      },
      table: { $ref: '#/$defs/table' },
    },
    $defs: {
      patch: {
        type: 'object',
        description: 'partial job config: nested keys or dotted paths; null sets null, ~unset restores the default',
        additionalProperties: false,
        properties: patchProps,
      },
      variantAxis: {
        if: { const: UNSET },
        then: true,
        else: {
          type: 'object',
          description: 'named variants: label -> patch',
          minProperties: 1,
          additionalProperties: { if: { const: UNSET }, then: true, else: { $ref: '#/$defs/patch' } },
        },
      },
      selector: SELECTOR,
      claim: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'metric', 'expect'],
        properties: {
          name: { type: 'string', minLength: 1 },
          metric: { type: 'string', minLength: 1, description: 'result metric the claim reads, e.g. final.probe_entropy_last3' },
          expect: { $ref: '#/$defs/expect' },
          gate: { type: 'boolean', description: 'false: reported, never fails rlgrid check' },
          note: { type: 'string' },
        },
      },
      expect: {
        type: 'object',
        description:
          'one of {greater, than, margin?}, {less, than, margin?}, {within: [lo, hi], of}, {correlation, sign, of?}, ' +
          '{below | above: other metric of the same job, of, margin?}, {increasing | decreasing: [selector, ...], margin?}',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          greater: { $ref: '#/$defs/selector' },
          less: { $ref: '#/$defs/selector' },
          than: { $ref: '#/$defs/selector' },
          margin: { type: 'number', minimum: 0 },
          within: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'number' }], minItems: 2, maxItems: 2 },
          of: { $ref: '#/$defs/selector' },
          correlation: { type: 'string', minLength: 1 },
          sign: { enum: ['positive', 'negative'] },
          below: { type: 'string', minLength: 1, description: 'per job, the metric minus this metric of the same job is below -margin' },
          above: { type: 'string', minLength: 1, description: 'per job, the metric minus this metric of the same job is above margin' },
          increasing: { type: 'array', minItems: 2, items: { $ref: '#/$defs/selector' }, description: 'groups whose means rise at every step' },
          decreasing: { type: 'array', minItems: 2, items: { $ref: '#/$defs/selector' }, description: 'groups whose means fall at every step' },
        },
      },
      table: {
        type: 'object',
        additionalProperties: false,
        required: ['rows'],
        properties: {
          layout: { enum: ['table1', 'table1-checkpoints', 'table2', 'table3'] },
          rows: { type: 'string', description: 'axis whose labels are the rows' },
          columns: { anyOf: [{ const: 'benchmarks' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
          cell: { type: 'string' },
        },
      },
      ...defs,
    },
  };
}

export interface Validators {
  /** the grid schema (what schema/grid.schema.json holds) */
  gridSchema: Schema;
  /** config path -> pointer into gridSchema (every path a patch may set) */
  paths: Map<string, string>;
  /** allErrors + verbose, for messages */
  grid: ValidateFunction;
  /** fast yes/no on resolved jobs */
  jobFast: ValidateFunction;
  /** allErrors + verbose, run only on a job that failed jobFast */
  jobVerbose: ValidateFunction;
  /** fast yes/no on the value of one config path (its job-schema node on its own) */
  leaf(path: string): ValidateFunction;
}

let validators: Validators | undefined;

/** Compiled on first use, once per process (ajv compiles in a few hundred ms). */
export function getValidators(): Validators {
  if (validators) return validators;
  const gridSchema = buildGridSchema();
  const paths = configPaths(gridSchema.$defs as Record<string, Schema>);
  const opts = { strict: true, allowUnionTypes: true, strictTypes: false } as const;
  // inlineRefs: false: each config node is compiled once, not once per reference
  let verboseAjv: Ajv2020 | undefined;
  let fastAjv: Ajv2020 | undefined;
  const verbose = () => (verboseAjv ??= new Ajv2020({ ...opts, allErrors: true, verbose: true, inlineRefs: false }));
  const fast = () => (fastAjv ??= new Ajv2020({ ...opts, allErrors: false }));
  let grid: ValidateFunction | undefined;
  let jobFast: ValidateFunction | undefined;
  let jobVerbose: ValidateFunction | undefined;
  const leaves = new Map<string, ValidateFunction>();
  validators = {
    gridSchema,
    paths,
    get grid() {
      return (grid ??= verbose().compile(gridSchema));
    },
    get jobFast() {
      return (jobFast ??= fast().compile(jobSchema()));
    },
    get jobVerbose() {
      return (jobVerbose ??= verbose().compile(jobSchema()));
    },
    leaf(path) {
      let v = leaves.get(path);
      if (!v) {
        let node: Schema = jobSchema();
        for (const seg of path.split('.')) {
          node = (node.properties as Record<string, Schema> | undefined)?.[seg] as Schema;
          if (!node) throw new Error(`no job-schema node at ${path}`);
        }
        v = fast().compile(clone(node));
        leaves.set(path, v);
      }
      return v;
    },
  };
  return validators;
}

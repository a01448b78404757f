// schema/grid.schema.json: generated from schema/job.schema.json, current,
// and usable on its own (as an editor uses it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { buildGridSchema, getValidators, jobSchema, UNSET } from '../../src/grid/schema.ts';
import { DEFAULT_JOB } from '../../src/config/job.ts';
import { flatten, type Json } from '../../src/util/objects.ts';
import { REPO } from './helpers.ts';

const committed = JSON.parse(readFileSync(path.join(REPO, 'schema/grid.schema.json'), 'utf8'));

describe('grid JSON Schema', () => {
  it('the committed schema/grid.schema.json is the generated one (regenerate: node --import tsx src/grid/gen-schema.ts)', () => {
    assert.deepStrictEqual(committed, buildGridSchema());
  });

  it('an editor’s validator (plain ajv, no rlgrid code) accepts grids/table2.yaml and rejects a typo', () => {
    const validate = new Ajv2020({ strict: false }).compile(committed);
    const table2 = parse(readFileSync(path.join(REPO, 'grids/table2.yaml'), 'utf8'));
    assert.equal(validate(table2), true, JSON.stringify(validate.errors));
    assert.equal(validate({ version: 1, name: 'x', base: { 'train.clip.hihg': 1 } }), false);
  });

  it('offers every config path of the job schema as a patch key, dotted or nested', () => {
    const paths = [...getValidators().paths.keys()];
    const leaves = Object.keys(flatten(DEFAULT_JOB as unknown as Json));
    for (const leaf of leaves) assert.ok(paths.includes(leaf), leaf);
    assert.ok(paths.includes('train.policy_loss.ratio') && paths.includes('train.token_weights.fraction'));
    const v = getValidators().grid;
    const defaults = flatten(DEFAULT_JOB as unknown as Json);
    for (const leaf of leaves) {
      const value = defaults[leaf];
      assert.equal(v({ version: 1, name: 'x', base: { [leaf]: value } }), true, `${leaf}: ${JSON.stringify(v.errors)}`);
      assert.equal(v({ version: 1, name: 'x', base: { [leaf]: UNSET } }), true, leaf);
    }
    assert.equal(v({ version: 1, name: 'x', base: DEFAULT_JOB }), true);
  });

  it('accepts a method block without its mode in a patch, and checks its keys once the mode is given', () => {
    const v = getValidators().grid;
    assert.equal(v({ version: 1, name: 'x', base: { 'train.policy_loss': { ratio: 0.01 } } }), true);
    assert.equal(v({ version: 1, name: 'x', base: { 'train.policy_loss': { mode: 'kl-cov', ratio: 0.01, coef: 2 } } }), true);
    assert.equal(v({ version: 1, name: 'x', base: { 'train.policy_loss': { mode: 'kl-cov', lb: 1 } } }), false);
  });

  it('keeps the job schema untouched (the resolved job is still checked against it)', () => {
    assert.equal(jobSchema().$id, 'https://rlgrid.dev/schema/job.schema.json');
    assert.ok(Array.isArray(jobSchema().properties.train.properties.policy_loss.oneOf));
  });
});

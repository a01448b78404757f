// Validation of manifest.json against schema/manifest.schema.json. Used by
// the tests, and by every manifest write when RLGRID_VALIDATE_MANIFEST=1 (the
// test suites set it, so each worker process checks what it writes).
import fs from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { setManifestValidator, type Manifest } from './manifest.ts';

export const MANIFEST_SCHEMA_FILE = new URL('../../schema/manifest.schema.json', import.meta.url);

type Check = (m: unknown) => string[];
let compiled: Check | undefined;

/** Schema errors of a manifest (empty when valid). */
export function manifestSchemaErrors(m: unknown): string[] {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    const addFormats = (addFormatsModule as unknown as { default: (a: Ajv2020) => void }).default ?? addFormatsModule;
    (addFormats as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(JSON.parse(fs.readFileSync(MANIFEST_SCHEMA_FILE, 'utf8')));
    compiled = (v) => (validate(v) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
  }
  return compiled(m);
}

/** Make every writeManifest in this process validate first (throws on an invalid manifest). */
export function enableManifestValidation(): void {
  setManifestValidator((m: Manifest, file: string) => {
    const errs = manifestSchemaErrors(m);
    if (errs.length) throw new Error(`${file}: manifest does not match schema/manifest.schema.json: ${errs.join('; ')}`);
  });
}

/** Turn validation on when RLGRID_VALIDATE_MANIFEST=1. */
export function validateManifestsFromEnv(): void {
  if (process.env.RLGRID_VALIDATE_MANIFEST === '1') enableManifestValidation();
}

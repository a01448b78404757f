// Rewrites schema/grid.schema.json from src/grid/schema.ts (run after changing
// schema/job.schema.json): node --import tsx src/grid/gen-schema.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildGridSchema, GRID_SCHEMA_URL } from './schema.ts';

export function gridSchemaText(): string {
  return JSON.stringify(buildGridSchema(), null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GRID_SCHEMA_URL, gridSchemaText());
  process.stdout.write(`wrote ${fileURLToPath(GRID_SCHEMA_URL)}\n`);
}

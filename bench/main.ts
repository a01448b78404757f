// `npm run bench`: every benchmark prints its own numbers. Pass names to run
// a subset: `npm run bench -- planner model`.
const benches: Record<string, () => Promise<void>> = {
  planner: async () => (await import('./planner.ts')).benchPlanner(),
  model: async () => (await import('./model.ts')).benchModel(),
  grpo: async () => (await import('./grpo.ts')).benchGrpo(),
  parallel: async () => (await import('./parallel.ts')).benchParallel(),
  startup: async () => (await import('./startup.ts')).benchStartup(),
  gemm: async () => (await import('./gemm.ts')).benchGemm(),
};

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  const run = benches[name];
  if (!run) {
    console.error(`unknown bench '${name}' (have: ${Object.keys(benches).join(', ')})`);
    process.exit(2);
  }
  console.log(`\n## ${name}`);
  await run();
}

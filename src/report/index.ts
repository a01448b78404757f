// What other parts of rlgrid use from the reports. Figures and the HTML page
// (figure.ts, html.ts) load vega, about a second: import them directly where
// they are needed.
export type { BenchmarkEval, EvalRow, JobRecord, JobStatus, MetricRow, Result, Scores } from './types.ts';
export { readJobDir, isUsable } from './jobdir.ts';
export { loadGridRecords, loadRecords, readJob, resolveRunArg, type GridRecords, type RunArg } from './load.ts';
export { checkClaims, failedClaims, claimsSummary, renderClaimsTerm, renderClaimsMarkdown, type ClaimResult, type Verdict } from './claims.ts';
export { compareRuns, type CompareOptions, type CompareResult, type CompareVerdict, type Divergence } from './compare.ts';
export { buildTable, type Agg, type Layout, type TableModel, type TableOptions } from './table.ts';
export { renderTable, TABLE_FORMATS, type TableFormat } from './format.ts';
export { compareWithGolden, formatDifferences, type CellDifference } from './golden.ts';
export { diffJobs, diffTables, renderJobDiff, renderGridDiff, type JobDiff, type GridDiff } from './diff.ts';
export { resolveMetric, scalarOf, seriesOf, parseMetricName, type ResolvedMetric } from './metric.ts';

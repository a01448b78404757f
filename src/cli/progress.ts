// The progress display of `rlgrid run` (local executor). On a terminal: an
// ora spinner whose text is a summary line (k/N done, ETA) and one line per
// running job (step/total, steps/s, latest entropy and reward), redrawn from
// polls of each job's metrics.jsonl (src/runs/progress.ts): the workers
// report nothing themselves. Elsewhere: plain lines, plus the running jobs'
// progress every `every` seconds (for logs of CI and batch systems).
import type { Ora } from 'ora';
import type { PlannedJob } from '../grid/types.ts';
import type { RunEvent } from '../exec/local.ts';
import { gridEta, progressText, readMetricsTail, ProgressTracker, type JobProgress } from '../runs/progress.ts';
import { useSpinner } from './common.ts';
import { fmtSeconds, labelText } from './status.ts';

/** How often the running jobs' metrics are polled on a terminal (ms). */
export const POLL_MS = 500;

export interface ProgressOptions {
  /** worker processes at a time */
  concurrency: number;
  /** a job's run directory */
  dirOf: (id: string) => string;
  /** off a terminal: print the running jobs' progress every this many seconds (0: never) */
  every: number;
}

/** Cut a line to the terminal's width (a wrapped line would break ora's redraw). */
const cut = (s: string, width: number): string => ([...s].length <= width ? s : [...s].slice(0, Math.max(1, width - 1)).join('') + '…');

export class RunProgress {
  private done = 0;
  private failed = 0;
  private ended = 0;
  private readonly running = new Map<string, { job: PlannedJob; progress: JobProgress | null }>();
  /** jobs not started yet: steps still to run */
  private readonly waiting = new Map<string, number>();
  /** rates of launches that ended (for the ETA of waiting jobs) */
  private readonly endedRates: number[] = [];
  private readonly tracker = new ProgressTracker();
  private spinner: Ora | null = null;
  /** when the last plain progress lines were printed (the run's start counts) */
  private lastPlain = performance.now();
  /** off a terminal: the step each job's last progress line showed */
  private readonly printedStep = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = performance.now();

  constructor(
    private readonly jobs: readonly PlannedJob[],
    private readonly opts: ProgressOptions,
  ) {
    for (const j of jobs) {
      const rows = readMetricsTail(opts.dirOf(j.id));
      this.waiting.set(j.id, Math.max(0, j.config.train.steps - (rows[rows.length - 1]?.step ?? 0)));
    }
  }

  /** Seconds since the run started. */
  wallSeconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** ora only on a terminal with a width (it is loaded on demand: workers never need it). */
  async start(): Promise<void> {
    if (useSpinner()) {
      const { default: ora } = await import('ora');
      // discardStdin: false: ora's default puts the terminal in raw mode, where Ctrl-C is no SIGINT
      this.spinner = ora({ text: this.text(), stream: process.stderr, discardStdin: false }).start();
    }
    // polled often everywhere (rates need the moments steps appear); printed off a terminal every `every` s
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  private poll(): void {
    for (const [id, r] of this.running) r.progress = this.tracker.sample(id, this.opts.dirOf(id), r.job.config.train.steps);
    if (this.spinner) this.spinner.text = this.text();
    else if (this.running.size > 0 && this.opts.every > 0 && performance.now() - this.lastPlain >= this.opts.every * 1000) {
      this.lastPlain = performance.now();
      // a log gets a job's line only when its step moved (a long evaluation repeats nothing)
      let any = false;
      for (const r of [...this.running.values()].sort((a, b) => a.job.index - b.job.index)) {
        if (!r.progress || this.printedStep.get(r.job.id) === r.progress.step) continue;
        this.printedStep.set(r.job.id, r.progress.step);
        process.stderr.write(`progress ${r.job.id}  ${labelText(r.job.labels)}  ${progressText(r.progress)}\n`);
        any = true;
      }
      if (any) process.stderr.write(`[${this.summary()}]\n`);
    }
  }

  /** Seconds to the end of the run at the step rates seen so far (null: no step seen yet). */
  eta(): number | null {
    const running = [...this.running.values()].map((r) => ({ stepsLeft: r.progress ? r.progress.steps - r.progress.step : r.job.config.train.steps, rate: r.progress?.rate ?? null }));
    return gridEta(running, [...this.waiting.values()], this.opts.concurrency, this.endedRates);
  }

  private summary(): string {
    const eta = this.ended < this.jobs.length ? this.eta() : null;
    return `${this.done}/${this.jobs.length} done, ${this.running.size} running, ${this.failed} failed${eta !== null ? `, ETA ${fmtSeconds(eta)}` : ''}`;
  }

  private text(): string {
    const width = Math.max(20, (process.stderr.columns || process.stdout.columns || 80) - 1);
    const lines = [cut(this.summary(), width - 2)]; // ora's spinner takes 2 columns
    for (const r of [...this.running.values()].sort((a, b) => a.job.index - b.job.index))
      lines.push(cut(`  ${r.job.id}  ${labelText(r.job.labels)}  ${r.progress ? progressText(r.progress) : 'starting'}`, width));
    return lines.join('\n');
  }

  private line(s: string): void {
    if (this.spinner) {
      this.spinner.clear();
      process.stderr.write(s + '\n');
      this.spinner.text = this.text();
      this.spinner.render();
    } else process.stderr.write(s + '\n');
  }

  note(s: string): void {
    this.line(s);
  }

  on(e: RunEvent): void {
    const who = `${e.job.id}  ${labelText(e.job.labels)}`;
    if (e.type === 'start') {
      this.waiting.delete(e.job.id);
      this.tracker.forget(e.job.id);
      this.printedStep.delete(e.job.id);
      this.running.set(e.job.id, { job: e.job, progress: null });
      this.line(`start    ${who}${e.launch > 1 ? ` (launch ${e.launch})` : ''}`);
    } else if (e.type === 'wait') {
      this.line(`waiting  ${who}: run by ${e.holder ? `pid ${e.holder.pid} on ${e.holder.host}` : 'another process'}`);
    } else if (e.type === 'exited') {
      const rate = this.running.get(e.job.id)?.progress?.rate;
      if (rate) this.endedRates.push(rate);
      this.running.delete(e.job.id);
      this.tracker.forget(e.job.id);
    } else if (e.type === 'retry') {
      this.line(`retry    ${who} (${e.left} left): ${e.reason ?? ''}`);
    } else {
      const r = e.result;
      this.waiting.delete(e.job.id);
      this.ended++;
      if (r.status === 'done') this.done++;
      if (r.status === 'failed') this.failed++;
      if (r.action === 'skipped' && r.status === 'done') {
        if (this.spinner) this.spinner.text = this.text();
        return; // nothing happened: no line per done job
      }
      const what = r.action === 'not-started' ? 'not started' : r.status;
      this.line(`${what.padEnd(8)} ${who}  ${fmtSeconds(r.seconds)}${r.reason && r.status !== 'done' ? `: ${r.reason}` : ''}  [${this.summary()}]`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.spinner?.stop();
  }
}

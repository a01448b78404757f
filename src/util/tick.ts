// Long numeric work (training steps, evaluations, pretraining) is synchronous
// tfjs code. Awaiting this between pieces of it lets the event loop run what
// is due: signal handlers, the job lock's heartbeat, the parent watchdog.
// setImmediate (not a resolved promise) so that the loop goes through its
// timer and poll phases; it changes no number.
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

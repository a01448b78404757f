// Types of bin/bundle.js (plain JavaScript: it runs before anything can load TypeScript).
export function bundledEntry(): Promise<string | null>;
export function fresh(): { format: number; node: string; dir: string; inputs: Record<string, { size: number; mtimeMs: number }> } | null;
export function build(): Promise<string>;
export function prune(keep: string): void;

// Canonical JSON (RFC 8785) and content hashes: the basis of job ids and caches.
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new Error('value cannot be canonicalized');
  return s;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of the canonical JSON of a value. */
export function contentHash(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Short id used for job directories: 12 hex chars (48 bits) of the content hash. */
export function shortId(value: unknown): string {
  return contentHash(value).slice(0, 12);
}

// The tamper-evident audit log: a hash chain (one per data subject), each entry naming the hash of the
// one before, hashed as RFC 8785 canonical JSON so that any JSON library recomputes the same bytes.
// Signed checkpoints of the head make a cut-off tail visible too: without one, deleting the last
// entries would leave a shorter chain that is still consistent. Pure: no I/O.
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { type SigningKey, signText, verifyText } from "./keys";

export const GENESIS = "0".repeat(64);

/** JSON values only: what canonical JSON can hash. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface AuditEntry {
  readonly chain: string;
  /** 1, 2, 3... */
  readonly seq: number;
  /** ISO 8601. */
  readonly at: string;
  /** e.g. "consent.granted", "delivery". */
  readonly kind: string;
  readonly data: Json;
  /** The previous entry's hash; GENESIS for the first. */
  readonly prev: string;
  /** SHA-256 (hex) of the canonical JSON of every other field. */
  readonly hash: string;
}

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("canonicalJson: nothing to serialise");
  return text;
}

export function entryHash(entry: Omit<AuditEntry, "hash">): string {
  const { chain, seq, at, kind, data, prev } = entry;
  return createHash("sha256").update(canonicalJson({ chain, seq, at, kind, data, prev })).digest("hex");
}

export function nextEntry(
  head: { seq: number; hash: string } | undefined,
  chain: string,
  kind: string,
  data: Json,
  at: Date,
): AuditEntry {
  const body = {
    chain,
    seq: (head?.seq ?? 0) + 1,
    at: at.toISOString(),
    kind,
    data,
    prev: head?.hash ?? GENESIS,
  };
  return { ...body, hash: entryHash(body) };
}

/** A signed statement "chain C had N entries, the last hashing to H, at time T". */
export interface Checkpoint {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly keyId: string;
  /** Ed25519 over the canonical JSON of the fields above, base64url. */
  readonly signature: string;
}

export function signCheckpoint(head: AuditEntry, key: SigningKey, at: Date): Checkpoint {
  const body = { chain: head.chain, seq: head.seq, hash: head.hash, at: at.toISOString(), keyId: key.keyId };
  return { ...body, signature: signText(key, canonicalJson(body)) };
}

export type ChainVerdict =
  | { ok: true; length: number; checkpointsChecked: number }
  | { ok: false; seq: number; reason: string };

/**
 * Checks entries (in seq order) link up and hash right, and agree with every checkpoint; names the
 * first entry that does not. `publicKeys`: the tenant's keys by id (a checkpoint signed by another is refused).
 */
export function verifyChain(
  entries: readonly AuditEntry[],
  checkpoints: readonly Checkpoint[],
  publicKeys: ReadonlyMap<string, string>,
): ChainVerdict {
  let prev = GENESIS;
  for (const [i, e] of entries.entries()) {
    const expectedSeq = i + 1;
    if (e.seq !== expectedSeq) {
      return {
        ok: false,
        seq: expectedSeq,
        reason: `entry ${expectedSeq} is missing (found ${e.seq} in its place)`,
      };
    }
    if (e.prev !== prev) {
      return { ok: false, seq: e.seq, reason: `entry ${e.seq} does not name the hash of entry ${e.seq - 1}` };
    }
    const hash = entryHash(e);
    if (hash !== e.hash) {
      return {
        ok: false,
        seq: e.seq,
        reason: `entry ${e.seq} was altered: its content hashes to ${hash}, not ${e.hash}`,
      };
    }
    prev = e.hash;
  }
  for (const c of checkpoints) {
    const { signature, ...body } = c;
    const key = publicKeys.get(c.keyId);
    if (!key || !verifyText(key, canonicalJson(body), signature)) {
      return {
        ok: false,
        seq: c.seq,
        reason: `the checkpoint at entry ${c.seq} is not signed by the tenant's key`,
      };
    }
    const at = entries[c.seq - 1];
    if (!at) {
      return {
        ok: false,
        seq: entries.length + 1,
        reason: `the chain ends at entry ${entries.length}, but a signed checkpoint vouches for ${c.seq} entries: its tail was cut off`,
      };
    }
    if (at.hash !== c.hash) {
      return {
        ok: false,
        seq: c.seq,
        reason: `entry ${c.seq} differs from the one the signed checkpoint vouches for`,
      };
    }
  }
  return { ok: true, length: entries.length, checkpointsChecked: checkpoints.length };
}

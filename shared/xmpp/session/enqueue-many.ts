import { BatchExecuteStatementCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../../aws/clients";
import { tableName } from "../../aws/resources";
import type { SessionRecord } from "./state";
import { enqueueForAck } from "./store";

// A fan-out notifies many XEP-0198 sessions at once, and each needs its stanza in its queue before it is
// sent. One UpdateItem per session made that the largest part of a delivery (a request, a round trip
// and a lambda's worth of SDK work per subscriber). DynamoDB has no batched UpdateItem, but PartiQL's
// BatchExecuteStatement runs up to 25 conditional updates in one request, each billed as the UpdateItem
// it stands for (TransactWriteItems would bill twice). What it cannot do is return the new queue length,
// so the length is reckoned from the session as the caller read it (see `EnqueueOutcome`); a statement
// whose condition fails (the session gone, its queue full or created meanwhile) is tried again alone
// with enqueueForAck, which answers exactly.

/** Statements per BatchExecuteStatement, DynamoDB's limit. */
const STATEMENTS_PER_BATCH = 25;

export interface Enqueue {
  /** As read shortly before: its queue length is where the new stanzas are reckoned to land. */
  readonly session: SessionRecord;
  readonly stanza: string;
}

/**
 * The queue length once the stanza was appended (exact, or reckoned from the length read: a concurrent
 * append in between shifts it by that many, which only moves the next ack request); false when the
 * session is gone or its queue full; an Error when DynamoDB failed that statement otherwise.
 */
export type EnqueueOutcome = number | false | Error;

/**
 * Appends each stanza to its attached XEP-0198 session's queue of unacknowledged stanzas, 25 sessions
 * per request, requests in parallel. Several stanzas for one session are appended in their order, in one
 * statement (a batch may not name an item twice). Returns the outcomes in the order of `entries`.
 */
export async function enqueueEach(entries: readonly Enqueue[], maxQueued: number): Promise<EnqueueOutcome[]> {
  // Per session: where its entries stand in `entries`, and their stanzas in that order.
  const bySession = new Map<string, { session: SessionRecord; at: number[]; stanzas: string[] }>();
  entries.forEach((e, i) => {
    const group = bySession.get(e.session.connectionId);
    if (group) {
      group.at.push(i);
      group.stanzas.push(e.stanza);
    } else bySession.set(e.session.connectionId, { session: e.session, at: [i], stanzas: [e.stanza] });
  });
  const groups = [...bySession.values()];
  const outcomes: EnqueueOutcome[] = new Array(entries.length);
  const settle = (group: (typeof groups)[number], last: EnqueueOutcome) => {
    // `last` is the length after the group's last stanza; the earlier ones landed just before it.
    group.at.forEach((i, k) => {
      outcomes[i] = typeof last === "number" ? last - (group.at.length - 1 - k) : last;
    });
  };
  const chunks: (typeof groups)[] = [];
  for (let i = 0; i < groups.length; i += STATEMENTS_PER_BATCH)
    chunks.push(groups.slice(i, i + STATEMENTS_PER_BATCH));
  await Promise.all(
    chunks.map(async (chunk) => {
      let responses: ReadonlyArray<{ Error?: { Code?: string; Message?: string } }>;
      try {
        const out = await documents().send(
          new BatchExecuteStatementCommand({
            Statements: chunk.map((g) => statement(g.session, g.stanzas, maxQueued)),
          }),
        );
        responses = out.Responses ?? [];
      } catch (err) {
        for (const g of chunk) settle(g, err instanceof Error ? err : new Error(String(err)));
        return;
      }
      await Promise.all(
        chunk.map(async (g, k) => {
          const error = responses[k]?.Error;
          if (!error) settle(g, g.session.smQueue.length + g.stanzas.length);
          else if (error.Code === "ConditionalCheckFailed")
            settle(g, await enqueueForAck(g.session.connectionId, g.stanzas, maxQueued));
          else
            settle(g, new Error(`queueing for ${g.session.connectionId}: ${error.Code}: ${error.Message}`));
        }),
      );
    }),
  );
  return outcomes;
}

/**
 * The conditional append. PartiQL has no if_not_exists: a queue read as empty (or absent) is set on
 * condition it still is, and on condition the session item still exists (connectedAt is written with
 * it): a missing queue alone would also be true of a missing item.
 */
function statement(session: SessionRecord, stanzas: readonly string[], maxQueued: number) {
  const table = tableName("Sessions");
  return session.smQueue.length === 0
    ? {
        Statement: `UPDATE "${table}" SET smQueue = ? WHERE connectionId = ? AND connectedAt IS NOT MISSING AND (smQueue IS MISSING OR size(smQueue) = 0)`,
        Parameters: [[...stanzas], session.connectionId],
      }
    : {
        Statement: `UPDATE "${table}" SET smQueue = list_append(smQueue, ?) WHERE connectionId = ? AND size(smQueue) < ?`,
        Parameters: [[...stanzas], session.connectionId, maxQueued],
      };
}

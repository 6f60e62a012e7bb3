import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { slotKey } from "./keys";

// Per-endpoint concurrency: an attempt holds one of the endpoint's N slots (items in the Directory
// table, taken by a conditional write) while its request is in flight. A slow endpoint fills its own
// slots and its other deliveries wait in the queue, instead of filling the function's concurrency and
// holding everyone else's. A slot is a lease: one whose holder died frees itself at `until`.

export interface Slot {
  readonly n: number;
  readonly holder: string;
}

/** Takes a free slot of the endpoint, or returns undefined when all `limit` are held. */
export async function acquireSlot(
  tenantId: string,
  endpointId: string,
  holder: string,
  limit: number,
  leaseMs: number,
  now: number = Date.now(),
): Promise<Slot | undefined> {
  // Start at a random slot so concurrent takers spread instead of all fighting over slot 0.
  const start = Math.floor(Math.random() * limit);
  for (let i = 0; i < limit; i++) {
    const n = (start + i) % limit;
    try {
      await documents().send(
        new PutCommand({
          TableName: tableName("Directory"),
          Item: {
            ...slotKey(tenantId, endpointId, n),
            kind: "webhook-slot",
            holder,
            until: now + leaseMs,
            // A slot left by a runner that died is taken over at `until`; TTL clears the item some day.
            expiresAt: Math.floor((now + leaseMs) / 1000) + 24 * 3600,
          },
          ConditionExpression: "attribute_not_exists(pk) OR #until < :now",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return { n, holder };
    } catch (err) {
      if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    }
  }
  return undefined;
}

export async function releaseSlot(tenantId: string, endpointId: string, slot: Slot): Promise<void> {
  try {
    await documents().send(
      new DeleteCommand({
        TableName: tableName("Directory"),
        Key: slotKey(tenantId, endpointId, slot.n),
        ConditionExpression: "holder = :h",
        ExpressionAttributeValues: { ":h": slot.holder },
      }),
    );
  } catch (err) {
    // Taken over after our lease lapsed: it is someone else's now.
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
  }
}

// Creates the manifest's tables in the local emulator, as the SST deployment declares them in AWS.
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import type { KeyDef, TableDef } from "../infra/manifest";

const ACTIVE_WAIT_SECONDS = 60;

/**
 * Creates each missing table (keys, GSIs projecting ALL, on-demand billing), waits until it is
 * ACTIVE and enables TTL on its ttlAttribute. Existing tables keep their data; one whose keys or
 * indexes no longer match the manifest is reported rather than silently used or rebuilt.
 */
export async function ensureTables(
  client: DynamoDBClient,
  defs: readonly TableDef[],
  physicalName: (logical: string) => string,
): Promise<void> {
  await Promise.all(defs.map((def) => ensureTable(client, def, physicalName(def.name))));
}

async function ensureTable(client: DynamoDBClient, def: TableDef, tableName: string): Promise<void> {
  const existing = await describe(client, tableName);
  if (existing) {
    const drift = schemaDrift(def, existing);
    if (drift.length > 0) {
      throw new Error(
        `Table ${tableName} (${def.name}) exists with a shape that differs from infra/manifest.ts: ` +
          `${drift.join("; ")}. Delete the local data directory (or the table) to recreate it.`,
      );
    }
  } else {
    await create(client, def, tableName);
  }
  await waitUntilTableExists({ client, maxWaitTime: ACTIVE_WAIT_SECONDS }, { TableName: tableName });
  if (def.ttlAttribute) await ensureTtl(client, tableName, def.ttlAttribute);
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

async function create(client: DynamoDBClient, def: TableDef, tableName: string): Promise<void> {
  const keyDefs = [
    def.partitionKey,
    def.sortKey,
    ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  const attributes = new Map<string, AttributeDefinition>();
  for (const k of keyDefs) {
    if (!k) continue;
    const seen = attributes.get(k.name);
    if (seen && seen.AttributeType !== k.type) {
      throw new Error(`infra/manifest: table ${def.name} gives attribute ${k.name} two key types`);
    }
    attributes.set(k.name, { AttributeName: k.name, AttributeType: k.type });
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [...attributes.values()],
        KeySchema: keySchema(def.partitionKey, def.sortKey),
        GlobalSecondaryIndexes:
          def.globalIndexes.length === 0
            ? undefined
            : def.globalIndexes.map((i) => ({
                IndexName: i.name,
                KeySchema: keySchema(i.partitionKey, i.sortKey),
                Projection: i.projection
                  ? { ProjectionType: "INCLUDE", NonKeyAttributes: [...i.projection] }
                  : { ProjectionType: "ALL" },
              })),
      }),
    );
  } catch (err) {
    // Another process created it between our describe and create: that is the state we wanted.
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}

function keySchema(partitionKey: KeyDef, sortKey: KeyDef | undefined): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: "HASH" }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: "RANGE" });
  return schema;
}

function formatKeys(schema: readonly KeySchemaElement[] | undefined): string {
  return (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
}

function schemaDrift(def: TableDef, table: TableDescription): string[] {
  const drift: string[] = [];
  const wantKeys = formatKeys(keySchema(def.partitionKey, def.sortKey));
  const haveKeys = formatKeys(table.KeySchema);
  if (wantKeys !== haveKeys) drift.push(`key schema is ${haveKeys}, manifest says ${wantKeys}`);
  const have = new Map(
    (table.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, formatKeys(i.KeySchema)]),
  );
  for (const index of def.globalIndexes) {
    const want = formatKeys(keySchema(index.partitionKey, index.sortKey));
    const got = have.get(index.name);
    if (got === undefined) drift.push(`index ${index.name} is missing`);
    else if (got !== want) drift.push(`index ${index.name} has keys ${got}, manifest says ${want}`);
  }
  return drift;
}

async function ensureTtl(client: DynamoDBClient, tableName: string, attribute: string): Promise<void> {
  const current = (await client.send(new DescribeTimeToLiveCommand({ TableName: tableName })))
    .TimeToLiveDescription;
  const status = current?.TimeToLiveStatus;
  if (status === "ENABLED" || status === "ENABLING") {
    if (current?.AttributeName === attribute) return;
    throw new Error(
      `Table ${tableName} has TTL on ${current?.AttributeName}, manifest says ${attribute}. ` +
        "Delete the local data directory (or the table) to recreate it.",
    );
  }
  // Enabling twice is a ValidationException, hence the describe above.
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
    }),
  );
}

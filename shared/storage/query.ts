import { QueryCommand, type QueryCommandInput, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";

/** Every page of a query, following LastEvaluatedKey. */
export async function* queryPages(input: QueryCommandInput): AsyncGenerator<QueryCommandOutput> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    yield out;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
}

/** Every item a query matches, page after page. */
export async function* queryAll(input: QueryCommandInput): AsyncGenerator<Record<string, unknown>> {
  for await (const page of queryPages(input)) yield* page.Items ?? [];
}

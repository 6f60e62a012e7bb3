import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { countCalls, countCallsOptions } from "./call-counter";

// One client per endpoint, reused across invocations (warm Lambdas keep their sockets). Endpoints come
// from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, which the local hub sets to its emulators;
// the cache key includes them so a hub restarted on other ports in the same process gets new clients.

const cache = new Map<string, unknown>();

function cached<T>(key: string, make: () => T): T {
  let client = cache.get(key) as T | undefined;
  if (client === undefined) {
    client = make();
    cache.set(key, client);
  }
  return client;
}

// Every call is counted (see call-counter.ts). The document client shares its DynamoDB client's stack,
// so only base clients get the middleware.
function counted<C extends DynamoDBClient | SQSClient | ApiGatewayManagementApiClient>(client: C): C {
  // Each client's stack is typed by its own service's inputs; the middleware is generic over them.
  (client.middlewareStack as DynamoDBClient["middlewareStack"]).add(countCalls, countCallsOptions);
  return client;
}

export function dynamo(): DynamoDBClient {
  return cached(`ddb:${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ""}`, () => counted(new DynamoDBClient({})));
}

export function documents(): DynamoDBDocumentClient {
  return cached(`doc:${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ""}`, () =>
    DynamoDBDocumentClient.from(dynamo(), { marshallOptions: { removeUndefinedValues: true } }),
  );
}

export function sqs(): SQSClient {
  return cached(`sqs:${process.env.AWS_ENDPOINT_URL_SQS ?? ""}`, () => counted(new SQSClient({})));
}

/** The @connections client for one API endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage}). */
export function connections(endpoint: string): ApiGatewayManagementApiClient {
  return cached(`apigw:${endpoint}`, () => counted(new ApiGatewayManagementApiClient({ endpoint })));
}

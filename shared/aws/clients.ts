import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

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

export function dynamo(): DynamoDBClient {
  return cached(`ddb:${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ""}`, () => new DynamoDBClient({}));
}

export function documents(): DynamoDBDocumentClient {
  return cached(`doc:${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ""}`, () =>
    DynamoDBDocumentClient.from(dynamo(), { marshallOptions: { removeUndefinedValues: true } }),
  );
}

export function sqs(): SQSClient {
  return cached(`sqs:${process.env.AWS_ENDPOINT_URL_SQS ?? ""}`, () => new SQSClient({}));
}

/** The @connections client for one API endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage}). */
export function connections(endpoint: string): ApiGatewayManagementApiClient {
  return cached(`apigw:${endpoint}`, () => new ApiGatewayManagementApiClient({ endpoint }));
}

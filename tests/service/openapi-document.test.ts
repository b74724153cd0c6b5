/**
 * The OpenAPI document as the service serves it is one that standard tools accept: swagger-parser
 * validates it, and redocly's recommended rules find no error and no warning (but the ones
 * ignored with a reason in .redocly.lint-ignore.yaml). The API types the service tests are
 * typed with (./api-types.ts) are the ones openapi-typescript generates from it.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { API_TYPES_FILE, apiTypesOf } from "@/scripts/generate-openapi-types";
import { validateOpenApiDocument } from "./openapi-validator";

let service: RunningService;
let served: unknown;

beforeAll(async () => {
  service = await startService({ worker: false });
  const res = await fetch(`${service.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  served = await res.json();
});

afterAll(async () => {
  await service?.stop();
});

describe("the served OpenAPI document", () => {
  it("passes swagger-parser and redocly's recommended rules: no error, no warning", async () => {
    const verdict = await validateOpenApiDocument(served);
    expect(verdict.swaggerParser).toEqual([]);
    expect(verdict.redocly).toEqual([]);
    // What is ignored is only the 4XX rule on the two operations that never answer one.
    expect(verdict.ignored.map((p) => p.replace(/:.*/, ""))).toEqual([
      "warn operation-4xx-response at #/paths/~1api~1v1~1openapi.json/get/responses",
      "warn operation-4xx-response at #/paths/~1api~1health/get/responses",
    ]);
  });

  it("is what the committed API types were generated from (else: npm run openapi:types)", async () => {
    expect(await apiTypesOf(served), "tests/service/api-types.ts is stale: run `npm run openapi:types`").toBe(readFileSync(API_TYPES_FILE, "utf8"));
  });
});

/**
 * The OpenAPI document, without the service: valid for swagger-parser and redocly's recommended
 * rules, its enums taken from the code's closed sets, and the committed API types current. The
 * service tests check the served document the same way (tests/service/openapi-document.test.ts).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_TYPES_FILE, apiTypesOf } from "@/scripts/generate-openapi-types";
import { validateOpenApiDocument } from "@/tests/service/openapi-validator";
import { API_ERROR_CODES } from "@/lib/errors";
import { CHECK_FAILURE_CODES } from "@/lib/checks/types";
import { CONNECTION_STATUSES, FINDING_IDS, VERDICTS } from "@/lib/probe/types";
import { openApiDocument } from "./openapi-document";

const document: unknown = JSON.parse(JSON.stringify(openApiDocument));
const schemas = openApiDocument.components.schemas as Record<string, { enum?: unknown; properties?: Record<string, Record<string, unknown>> }>;

describe("the OpenAPI document", () => {
  it("passes swagger-parser and redocly's recommended rules", async () => {
    const verdict = await validateOpenApiDocument(document);
    expect(verdict.swaggerParser).toEqual([]);
    expect(verdict.redocly).toEqual([]);
  });

  it.each([
    ["Verdict", (s: typeof schemas) => s.Verdict?.enum, VERDICTS],
    ["ConnectionStatus", (s: typeof schemas) => s.ConnectionStatus?.enum, CONNECTION_STATUSES],
    ["Finding.id", (s: typeof schemas) => s.Finding?.properties?.id?.enum, FINDING_IDS],
    ["CheckFailure.code", (s: typeof schemas) => s.CheckFailure?.properties?.code?.enum, CHECK_FAILURE_CODES],
    ["Error code", (s: typeof schemas) => (s.Error?.properties?.error as { properties: { code: { enum: unknown } } }).properties.code.enum, API_ERROR_CODES],
  ])("%s lists the code's closed set", (_name, pick, values) => {
    expect(pick(schemas)).toEqual([...values]);
  });

  it("every component is used, every $ref resolves", () => {
    const text = JSON.stringify(openApiDocument);
    const refs = new Set([...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!));
    expect([...refs].filter((r) => !(r in schemas))).toEqual([]);
    expect(Object.keys(schemas).filter((name) => !refs.has(name))).toEqual([]);
  });

  it("is what the committed API types were generated from (else: npm run openapi:types)", async () => {
    expect(await apiTypesOf(document), "tests/service/api-types.ts is stale: run `npm run openapi:types`").toBe(readFileSync(API_TYPES_FILE, "utf8"));
  });
});

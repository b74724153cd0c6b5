/**
 * Validates real responses against the service's own OpenAPI 3.1 document (JSON Schema 2020-12
 * in components.schemas), with ajv.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { expect } from "vitest";

// ajv-formats is CommonJS with a default export.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

export interface OpenApiValidator {
  /** Throws (an expect failure) with ajv's errors when `value` does not match the named schema. */
  assert(schemaName: string, value: unknown): void;
  document: OpenApiDocument;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>>;
  components: { schemas: Record<string, unknown> };
}

export async function loadOpenApi(baseUrl: string): Promise<OpenApiValidator> {
  const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  const document = (await res.json()) as OpenApiDocument;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "openapi.json", components: document.components }, "openapi.json");
  return {
    document,
    assert(schemaName, value) {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${schemaName}`);
      if (!validate) throw new Error(`no schema ${schemaName} in the OpenAPI document`);
      const ok = validate(value);
      expect(ok ? [] : validate.errors, `${schemaName}: ${JSON.stringify(validate.errors?.slice(0, 5))}`).toEqual([]);
    },
  };
}

/** The schema a path/method/status answers with in the document ("CheckView" for a $ref). */
export function responseSchemaName(document: OpenApiDocument, path: string, method: string, status: number): string {
  const ref = document.paths[path]?.[method]?.responses[String(status)]?.content?.["application/json"]?.schema?.$ref;
  if (!ref) throw new Error(`the OpenAPI document has no JSON response ${status} for ${method.toUpperCase()} ${path}`);
  return ref.replace("#/components/schemas/", "");
}

/**
 * The service's own OpenAPI 3.1 document, used two ways by the tests:
 * - real responses are validated against it (JSON Schema 2020-12 in components.schemas, ajv);
 * - the document itself is validated by two standard tools, swagger-parser and redocly's
 *   recommended rules (redocly.yaml, .redocly.lint-ignore.yaml at the repository's root).
 */
import path from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { lintFromString, loadConfig } from "@redocly/openapi-core";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { expect } from "vitest";

// ajv-formats is CommonJS with a default export.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const DOCUMENT_ID = "openapi.json";

type Schema = Record<string, unknown>;

export interface OpenApiValidator {
  /** Throws (an expect failure) with ajv's errors when `value` does not match the named schema. */
  assert(schemaName: string, value: unknown): void;
  /** Same for a schema of the document (a `$ref` to a component, or one written in place). */
  assertSchema(schema: Schema, value: unknown): void;
  /**
   * What the document says `method path` answers with `status`: `{ json }` with the schema of
   * its JSON body (undefined for another media type), or undefined when the status is not listed.
   */
  responseSchema(path: string, method: string, status: number): { json: Schema | undefined } | undefined;
  document: OpenApiDocument;
}

interface MediaType {
  schema?: Schema & { $ref?: string };
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, MediaType> }> }>>;
  components: { schemas: Record<string, unknown> };
}

export async function loadOpenApi(baseUrl: string): Promise<OpenApiValidator> {
  const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  return openApiValidator((await res.json()) as OpenApiDocument);
}

export function openApiValidator(document: OpenApiDocument): OpenApiValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components }, DOCUMENT_ID);
  const inline = new Map<Schema, ReturnType<typeof ajv.compile>>();

  const check = (validate: ReturnType<typeof ajv.compile>, label: string, value: unknown) => {
    const ok = validate(value);
    expect(ok ? [] : validate.errors, `${label}: ${JSON.stringify(validate.errors?.slice(0, 5))}`).toEqual([]);
  };
  const named = (schemaName: string) => {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${schemaName}`);
    if (!validate) throw new Error(`no schema ${schemaName} in the OpenAPI document`);
    return validate;
  };

  return {
    document,
    assert(schemaName, value) {
      check(named(schemaName), schemaName, value);
    },
    assertSchema(schema, value) {
      const ref = typeof schema.$ref === "string" ? schema.$ref : null;
      if (ref?.startsWith("#/components/schemas/")) {
        const schemaName = ref.slice("#/components/schemas/".length);
        check(named(schemaName), schemaName, value);
        return;
      }
      let validate = inline.get(schema);
      if (!validate) {
        // Refs in a schema written in place point into the document.
        validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as Schema);
        inline.set(schema, validate);
      }
      check(validate, "response", value);
    },
    responseSchema(docPath, method, status) {
      const response = document.paths[docPath]?.[method]?.responses[String(status)];
      if (!response) return undefined;
      return { json: response.content?.["application/json"]?.schema };
    },
  };
}

/** The schema a path/method/status answers with in the document ("CheckView" for a $ref). */
export function responseSchemaName(document: OpenApiDocument, path: string, method: string, status: number): string {
  const ref = document.paths[path]?.[method]?.responses[String(status)]?.content?.["application/json"]?.schema?.$ref;
  if (!ref) throw new Error(`the OpenAPI document has no JSON response ${status} for ${method.toUpperCase()} ${path}`);
  return ref.replace("#/components/schemas/", "");
}

export interface DocumentVerdict {
  /** swagger-parser's validation error, if any (one message, possibly several lines). */
  swaggerParser: string[];
  /** redocly's errors and warnings that are not ignored in .redocly.lint-ignore.yaml. */
  redocly: string[];
  /** redocly's warnings ignored there (each with its reason in that file). */
  ignored: string[];
}

/** Validates an OpenAPI document with swagger-parser and redocly's recommended rules. */
export async function validateOpenApiDocument(document: unknown): Promise<DocumentVerdict> {
  const swaggerParser: string[] = [];
  try {
    // It dereferences what it is given: it gets a copy.
    await SwaggerParser.validate(structuredClone(document) as Parameters<typeof SwaggerParser.validate>[0]);
  } catch (e) {
    swaggerParser.push(e instanceof Error ? e.message : String(e));
  }

  const config = await loadConfig({ configPath: path.join(ROOT, "redocly.yaml") });
  // Linted as `openapi.json` beside redocly.yaml: the name the ignore file uses.
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: path.join(ROOT, DOCUMENT_ID), config });
  const describe = (p: (typeof problems)[number]) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? "?"}: ${p.message}`;
  return {
    swaggerParser,
    redocly: problems.filter((p) => !p.ignored).map(describe),
    ignored: problems.filter((p) => p.ignored).map(describe),
  };
}

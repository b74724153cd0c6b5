/**
 * The service tests' client of the JSON API, typed by the types generated from the OpenAPI
 * document (./api-types.ts, `npm run openapi:types`): paths, parameters, request bodies and each
 * documented answer's body come from the document, so a test that reads a field the document
 * does not promise fails `tsc`. At run time every JSON answer is also validated against the
 * document's schema for its path, method and status (ajv), and an undocumented status fails.
 *
 *   const api = await createApiClient(service.baseUrl);
 *   const created = await api.post("/api/v1/checks", { body: { target: "127.0.0.41" } });
 *   const view = bodyOf(created, 202); // typed CheckView; fails the test on another status
 *
 * The `DocumentMatchesCode` checks at the bottom compare the generated types with the types the
 * code answers with (lib/checks/types.ts…): a document that drifts from the code, or a stale
 * api-types.ts, fails `tsc` before any test runs.
 */
import type { withAdvice } from "@/lib/advice";
import { expect } from "vitest";
import type { CheckHistoryItem, CheckStreamEvent, CheckView } from "@/lib/checks/types";
import type { CreateCheckInput } from "@/lib/checks/create-check";
import type { CheckDiff } from "@/lib/checks/diff-checks";
import type { AlertPayload, CreateMonitorInput, DeliveryView, MonitorView, UpdateMonitorInput } from "@/lib/monitors/monitor-schema";
import type { ApiErrorCode } from "@/lib/errors";
import type { components, paths } from "./api-types";
import { loadOpenApi, type OpenApiValidator } from "./openapi-validator";

export type Schemas = components["schemas"];

type Method = "get" | "post" | "patch" | "delete";
type PathWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends { responses: unknown } ? P : never }[keyof paths];
type Operation<P extends keyof paths, M extends Method> = Extract<paths[P][M], { responses: unknown }>;

type JsonBody<R> = R extends { content: { "application/json": infer B } } ? B : unknown;
type Responses<O> = O extends { responses: infer R } ? R : never;

/** One documented answer of an operation: its status and, for JSON, its body as documented. */
export type ApiAnswer<O> = {
  [S in keyof Responses<O> & number]: { status: S; body: JsonBody<Responses<O>[S]>; res: Response };
}[keyof Responses<O> & number];

type PathParams<O> = O extends { parameters: { path: infer P } } ? ([P] extends [undefined] ? unknown : { path: P }) : unknown;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? ([Q] extends [undefined] ? unknown : { query?: Q }) : unknown;
type RequestBody<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? {
      /** The JSON body as documented, or raw text (to send what the document forbids). */
      body: B | { raw: string };
    }
  : unknown;

export type CallOptions<O> = PathParams<O> & QueryParams<O> & RequestBody<O> & { headers?: Record<string, string> };

export interface ApiClient {
  readonly validator: OpenApiValidator;
  get<P extends PathWith<"get">>(path: P, options?: CallOptions<Operation<P, "get">>): Promise<ApiAnswer<Operation<P, "get">>>;
  post<P extends PathWith<"post">>(path: P, options: CallOptions<Operation<P, "post">>): Promise<ApiAnswer<Operation<P, "post">>>;
  patch<P extends PathWith<"patch">>(path: P, options: CallOptions<Operation<P, "patch">>): Promise<ApiAnswer<Operation<P, "patch">>>;
  delete<P extends PathWith<"delete">>(path: P, options: CallOptions<Operation<P, "delete">>): Promise<ApiAnswer<Operation<P, "delete">>>;
}

interface LooseOptions {
  path?: Record<string, string>;
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function createApiClient(baseUrl: string): Promise<ApiClient> {
  const validator = await loadOpenApi(baseUrl);

  async function call(method: Method, template: string, options: LooseOptions = {}) {
    let url = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.path?.[name] ?? ""));
    const query = new URLSearchParams(Object.entries(options.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
    if (query.size > 0) url += `?${query}`;
    const raw = options.body as { raw?: string } | undefined;
    const body = options.body === undefined ? undefined : typeof raw?.raw === "string" ? raw.raw : JSON.stringify(options.body);
    const res = await fetch(`${baseUrl}${url}`, {
      method: method.toUpperCase(),
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...options.headers },
      body,
    });
    const text = await res.text();
    const json: unknown = text && (res.headers.get("content-type") ?? "").includes("application/json") ? JSON.parse(text) : text;
    const schema = validator.responseSchema(template, method, res.status);
    expect(schema, `${method.toUpperCase()} ${template} answered ${res.status}, which the document does not list: ${text.slice(0, 300)}`).not.toBeUndefined();
    if (schema?.json) validator.assertSchema(schema.json, json);
    return { status: res.status, body: json, res };
  }

  return {
    validator,
    // The loose implementation serves the typed signatures: the types are the document's.
    get: ((path: string, options?: LooseOptions) => call("get", path, options)) as ApiClient["get"],
    post: ((path: string, options: LooseOptions) => call("post", path, options)) as ApiClient["post"],
    patch: ((path: string, options: LooseOptions) => call("patch", path, options)) as ApiClient["patch"],
    delete: ((path: string, options: LooseOptions) => call("delete", path, options)) as ApiClient["delete"],
  };
}

/** The body of `answer`, typed as the document says for `status`; fails the test on another status. */
export function bodyOf<A extends { status: number; body: unknown }, S extends A["status"]>(answer: A, status: S): Extract<A, { status: S }>["body"] {
  expect(answer.status, `expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBe(status);
  return answer.body as Extract<A, { status: S }>["body"];
}

// ---------------------------------------------------------------------------------------------
// The document describes what the code answers with: tsc fails otherwise.

/** Each assignable to the other (the generated types spell some things differently). */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Same property names (assignability alone lets an optional property be missing on one side). */
type SameKeys<A, B> = Mutual<keyof A, keyof B>;
type Check<T extends true> = T;
type AdvisedCheckView = ReturnType<typeof withAdvice<CheckView>>;

export type DocumentMatchesCode = [
  // The API answers the view with the advice added (advice item ids are a string in the document).
  Check<SameKeys<Schemas["AdvisedCheckView"], AdvisedCheckView>>,
  Check<SameKeys<Schemas["AdvisedCheckView"]["servers"][number], AdvisedCheckView["servers"][number]>>,
  Check<SameKeys<Schemas["ServerReport"], CheckView["servers"][number]>>,
  Check<SameKeys<Schemas["CaseResult"], CheckView["servers"][number]["cases"][number]>>,
  Check<Mutual<Schemas["CheckStreamEvent"], CheckStreamEvent>>,
  Check<Mutual<Schemas["CheckHistoryItem"], CheckHistoryItem>>,
  Check<Mutual<Schemas["Error"]["error"]["code"], ApiErrorCode>>,
  Check<Mutual<Schemas["CreateCheckRequest"], CreateCheckInput>>,
  Check<Mutual<Schemas["CheckDiff"], CheckDiff>>,
  Check<Mutual<Schemas["Monitor"], MonitorView>>,
  Check<SameKeys<Schemas["Monitor"], MonitorView>>,
  Check<Mutual<Schemas["Delivery"], DeliveryView>>,
  Check<Mutual<Schemas["CreateMonitorRequest"], CreateMonitorInput>>,
  Check<Mutual<Schemas["UpdateMonitorRequest"], UpdateMonitorInput>>,
  Check<Mutual<Schemas["AlertPayload"], AlertPayload>>,
];

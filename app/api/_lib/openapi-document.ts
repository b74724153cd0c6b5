/**
 * The OpenAPI 3.1 description of the JSON API. Its component schemas are generated from the zod
 * schemas the service itself reads and checks with (lib/checks/report-schema.ts, the request
 * schema of POST /api/v1/checks, the diff of lib/checks/diff-checks.ts, the monitors' requests,
 * answers and webhook body of lib/monitors/monitor-schema.ts, the error codes of lib/errors.ts),
 * so no field or enum is copied by hand; the operations are written here.
 *
 * Kept valid for standard tools: the service tests validate the served document with
 * swagger-parser and redocly's recommended rules (redocly.yaml), validate real responses against
 * it, and type their API client with types generated from it (`npm run openapi:types`).
 */
import { z } from "zod";
import { HISTORY_LIMIT } from "@/lib/checks/list-checks-for-target";
import { createCheckInput } from "@/lib/checks/create-check";
import { CHECK_ID_PATTERN } from "@/lib/checks/check-id";
import { checkHistoryItemSchema, namedSchemas } from "@/lib/checks/report-schema";
import { checkDiffSchema } from "@/lib/checks/diff-checks";
import { API_ERROR_CODES } from "@/lib/errors";
import {
  alertPayloadSchema,
  createMonitorInput,
  deliveryListSchema,
  deliveryViewSchema,
  monitorListSchema,
  monitorViewSchema,
  MONITOR_ID_PATTERN,
  updateMonitorInput,
} from "@/lib/monitors/monitor-schema";
import { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS } from "@/lib/monitors/sign-webhook";

// ---------------------------------------------------------------------------------------------
// The API's own schemas, named beside the report's

const HEALTH_STATES = ["ok", "down"] as const;

const apiSchemas: Record<string, z.ZodType> = {
  Error: z.object({ error: z.object({ code: z.enum(API_ERROR_CODES), message: z.string().meta({ description: "For people; never an internal detail." }) }) }),
  CheckHistory: z.object({ target: z.string(), checks: z.array(checkHistoryItemSchema).max(HISTORY_LIMIT) }),
  Health: z.object({ status: z.enum(HEALTH_STATES), checks: z.object({ database: z.enum(HEALTH_STATES), redis: z.enum(HEALTH_STATES) }) }),
  CreateCheckRequest: createCheckInput,
  CheckDiff: checkDiffSchema,
  CreateMonitorRequest: createMonitorInput,
  UpdateMonitorRequest: updateMonitorInput,
  Monitor: monitorViewSchema,
  MonitorList: monitorListSchema,
  Delivery: deliveryViewSchema,
  DeliveryList: deliveryListSchema,
  AlertPayload: alertPayloadSchema,
};

/** What the request schema does not say itself (it is the handler's own zod schema). */
const REQUEST_DESCRIPTIONS = {
  target: "A domain, a host name, or an IPv4/IPv6 address.",
  ports: "SMTP ports to test (default [25]); 25, 465 and 587.",
  fresh: "Probe again instead of reusing a recent report (honoured after a cool-down).",
};

type JsonSchema = Record<string, unknown>;

/**
 * The registered zod schemas as OpenAPI 3.1 component schemas (JSON Schema 2020-12), with
 * `$ref`s between them. Integers lose zod's safe-integer bounds (noise for readers).
 */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of [...namedSchemas, ...Object.entries(apiSchemas)]) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      const s = jsonSchema as JsonSchema;
      if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
      if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
    },
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // Each came out as a document of its own; inside components they are plain schemas.
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
    out[id] = rest;
  }
  const request = out.CreateCheckRequest as { properties: Record<string, JsonSchema> };
  for (const [name, description] of Object.entries(REQUEST_DESCRIPTIONS)) {
    if (!request.properties[name]) throw new Error(`CreateCheckRequest has no property ${name}`);
    request.properties[name] = { ...request.properties[name], description };
  }
  request.properties.target = { ...request.properties.target, examples: ["mail.example.com"] };
  return out;
}

const schemas = componentSchemas();

const ref = (name: string): JsonSchema => {
  if (!schemas[name]) throw new Error(`no component schema ${name}`);
  return { $ref: `#/components/schemas/${name}` };
};

// ---------------------------------------------------------------------------------------------
// Operations

const int = { type: "integer" };

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ref("Error") } } });

const rateLimitHeaders = {
  "RateLimit-Limit": { schema: int, description: "Requests allowed in the window." },
  "RateLimit-Remaining": { schema: int, description: "Requests left in the window." },
  "RateLimit-Reset": { schema: int, description: "Seconds until the window resets." },
};

const tooMany = {
  description: "Rate limit reached (`rate_limited`).",
  headers: { "Retry-After": { schema: int, description: "Seconds to wait." }, ...rateLimitHeaders },
  content: { "application/json": { schema: ref("Error") } },
};

const badKey = {
  description: "The Authorization header has a malformed, unknown or revoked API key (`invalid_api_key`).",
  headers: { "WWW-Authenticate": { schema: { type: "string" }, description: "`Bearer` with the error." } },
  content: { "application/json": { schema: ref("Error") } },
};

/** Answers every API operation may give besides its own. */
const commonErrors = {
  "401": badKey,
  "429": tooMany,
  "500": errorResponse("Internal error (`internal`), or a check whose stored data is damaged (`damaged_record`)."),
  "503": errorResponse("A dependency (database, Redis) is down (`unavailable`)."),
};

/** Anonymous (limits per client IP) or with an API key (limits per key). */
const optionalKey = [{}, { apiKey: [] }];
/** Operations that take no credentials at all. */
const noKey: never[] = [];

const idParam = {
  name: "id",
  in: "path",
  required: true,
  description: "The check's id.",
  schema: { type: "string", pattern: CHECK_ID_PATTERN.source },
};

const monitorIdParam = { ...idParam, description: "The monitor's id.", schema: { type: "string", pattern: MONITOR_ID_PATTERN.source } };

/** Monitors belong to API keys: a key is required. */
const keyRequired = [{ apiKey: [] }];

const jsonBody = (name: string) => ({ content: { "application/json": { schema: ref(name) } } });

const noMonitor = errorResponse("No such monitor for this API key (`not_found`).");

const badgeAnswers = (what: string) => ({
  "200": {
    description: `The SVG badge: "open relay: no | yes | unknown" with the time of ${what}.`,
    headers: {
      "Cache-Control": { schema: { type: "string" }, description: "`public`, with a max-age." },
      ETag: { schema: { type: "string" }, description: "Send it back in If-None-Match: 304 while unchanged." },
    },
    content: { "image/svg+xml": { schema: { type: "string" } } },
  },
  "304": { description: "Not modified (If-None-Match matched the ETag)." },
});

/** Paths of the monitors and their badges, the diff and the report badge. */
const monitoringPaths = {
  "/api/v1/checks/{id}/diff": {
    get: {
      operationId: "getCheckDiff",
      security: optionalKey,
      summary: "What changed from another (earlier) check of the same target to this one.",
      parameters: [idParam, { name: "against", in: "query", required: true, description: "The id of the check to compare with.", schema: { type: "string", pattern: CHECK_ID_PATTERN.source } }],
      responses: {
        "200": { description: "The changes.", ...jsonBody("CheckDiff") },
        "400": errorResponse("No `against`, checks of different targets, or a check that has not ended (`bad_request`)."),
        "404": errorResponse("No such check (`not_found`)."),
        ...commonErrors,
      },
    },
  },
  "/api/v1/checks/{id}/badge.svg": {
    get: {
      operationId: "getCheckBadge",
      security: optionalKey,
      summary: "The report's badge (cached for good once the check has ended).",
      parameters: [idParam],
      responses: { ...badgeAnswers("the check"), "404": errorResponse("No such check (`not_found`)."), ...commonErrors },
    },
  },
  "/api/v1/monitors": {
    post: {
      operationId: "createMonitor",
      security: keyRequired,
      summary: "Create a monitor: its first check starts now, then one every `interval` seconds.",
      requestBody: { required: true, ...jsonBody("CreateMonitorRequest") },
      responses: {
        "201": { description: "The monitor.", headers: { Location: { schema: { type: "string" }, description: "The monitor's address." }, ...rateLimitHeaders }, ...jsonBody("Monitor") },
        "400": errorResponse("Malformed request, an interval below the minimum, email without an SMTP relay, too many monitors (`bad_request`), or a target or webhook address that is invalid (`invalid_target`) or refused (`target_refused`)."),
        "413": errorResponse("Request body too large (`payload_too_large`)."),
        "415": errorResponse("The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)."),
        ...commonErrors,
      },
    },
    get: {
      operationId: "listMonitors",
      security: keyRequired,
      summary: "The API key's monitors.",
      responses: { "200": { description: "The monitors, oldest first.", ...jsonBody("MonitorList") }, ...commonErrors },
    },
  },
  "/api/v1/monitors/{id}": {
    get: {
      operationId: "getMonitor",
      security: keyRequired,
      summary: "A monitor: its schedule, state, last check and recent runs.",
      parameters: [monitorIdParam],
      responses: { "200": { description: "The monitor.", ...jsonBody("Monitor") }, "404": noMonitor, ...commonErrors },
    },
    patch: {
      operationId: "updateMonitor",
      security: keyRequired,
      summary: "Change a monitor's interval, ports or alert channels.",
      parameters: [monitorIdParam],
      requestBody: { required: true, ...jsonBody("UpdateMonitorRequest") },
      responses: {
        "200": { description: "The monitor as changed.", ...jsonBody("Monitor") },
        "400": errorResponse("Malformed request or a refused value (`bad_request`, `target_refused`)."),
        "404": noMonitor,
        "413": errorResponse("Request body too large (`payload_too_large`)."),
        "415": errorResponse("The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)."),
        ...commonErrors,
      },
    },
    delete: {
      operationId: "deleteMonitor",
      security: keyRequired,
      summary: "Delete a monitor, its runs and its delivery log (the reports stay).",
      parameters: [monitorIdParam],
      responses: { "204": { description: "Deleted." }, "404": noMonitor, ...commonErrors },
    },
  },
  "/api/v1/monitors/{id}/deliveries": {
    get: {
      operationId: "listDeliveries",
      security: keyRequired,
      summary: "The monitor's delivery log: its alerts and every try of each, newest first.",
      parameters: [monitorIdParam],
      responses: { "200": { description: "The log.", ...jsonBody("DeliveryList") }, "404": noMonitor, ...commonErrors },
    },
  },
  ...Object.fromEntries(
    (["webhook", "email"] as const).map((channel) => [
      `/api/v1/monitors/{id}/test-${channel}`,
      {
        post: {
          operationId: channel === "webhook" ? "testWebhook" : "testEmail",
          security: keyRequired,
          summary: `Send a test alert to the monitor's ${channel} now, once (counts against the key's check limit).`,
          parameters: [monitorIdParam],
          responses: {
            "200": { description: "The test's log entry: delivered, or failed and why.", ...jsonBody("Delivery") },
            "400": errorResponse(`The monitor has no ${channel}${channel === "email" ? ", or the service has no SMTP relay" : ""} (\`bad_request\`).`),
            "404": noMonitor,
            ...commonErrors,
          },
        },
      },
    ]),
  ),
  "/api/v1/monitors/{id}/badge.svg": {
    get: {
      operationId: "getMonitorBadge",
      security: optionalKey,
      summary: "The monitor's badge: its last verdict. No key needed (the id is what is shared).",
      parameters: [monitorIdParam],
      responses: { ...badgeAnswers("the monitor's last verdict"), "404": errorResponse("No such monitor (`not_found`)."), ...commonErrors },
    },
  },
};

/** What a monitor's webhook receives (OpenAPI 3.1 `webhooks`). */
const webhooks = {
  monitorChanged: {
    post: {
      operationId: "monitorChanged",
      security: noKey,
      summary: "A monitor's check changed (or a test): sent to `notify.webhook`.",
      description:
        `Signed: \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the monitor's webhookSecret>\`. ` +
        `Check the HMAC with a constant-time comparison and refuse a \`t\` more than ${SIGNATURE_TOLERANCE_SECONDS} s away from now. ` +
        "Tried again with exponential backoff after 5xx, 408, 429 or no answer within 10 s; redirects are not followed. " +
        "Every try of one alert carries the same `X-Relaycheck-Delivery`.",
      parameters: [
        { name: SIGNATURE_HEADER, in: "header", required: true, schema: { type: "string" }, description: "`t=<unix seconds>,v1=<hex HMAC-SHA256>`." },
        { name: "X-Relaycheck-Event", in: "header", required: true, schema: { type: "string", enum: ["monitor.changed", "monitor.test"] }, description: "The payload's `type`." },
        { name: "X-Relaycheck-Delivery", in: "header", required: true, schema: { type: "string" }, description: "The alert's id, the same on every try." },
      ],
      requestBody: { required: true, ...jsonBody("AlertPayload") },
      responses: {
        "200": { description: "Any 2xx: delivered." },
        "400": { description: "Any other 4xx (but 408 and 429), or a 3xx: the alert is given up." },
        "503": { description: "Any 5xx: tried again later." },
      },
    },
  },
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "relaycheck API",
    version: "1.0.0",
    description:
      "Checks whether an SMTP server is an open relay. Create a check, follow it live (Server-Sent Events) or poll it, read the report. " +
      "Reports are unlisted: found by id, or by the exact target. " +
      "Without credentials, limits count per client IP; with an API key (`Authorization: Bearer rk_…`, issued by the operator) " +
      "they count per key and are higher. A bad or revoked key is refused with 401, never downgraded to anonymous. " +
      "Monitors (scheduled re-checks with alerts on change) belong to API keys: their operations need one.",
  },
  servers: [{ url: "/", description: "The service that serves this document." }],
  paths: {
    "/api/v1/checks": {
      post: {
        operationId: "createCheck",
        security: optionalKey,
        summary: "Create a check (or reuse a recent one of the same target).",
        requestBody: { required: true, content: { "application/json": { schema: ref("CreateCheckRequest") } } },
        responses: {
          "202": { description: "Check created and queued.", headers: rateLimitHeaders, content: { "application/json": { schema: ref("AdvisedCheckView") } } },
          "200": { description: "A recent check of the same target was reused (`reused: true`).", content: { "application/json": { schema: ref("AdvisedCheckView") } } },
          "400": errorResponse("Malformed request (`bad_request`) or a target that is invalid (`invalid_target`) or refused (`target_refused`)."),
          "413": errorResponse("Request body too large (`payload_too_large`)."),
          "415": errorResponse("The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)."),
          ...commonErrors,
        },
      },
      get: {
        operationId: "listChecksForTarget",
        security: optionalKey,
        summary: "The latest checks of one exact target.",
        parameters: [{ name: "target", in: "query", required: true, description: "The target as typed when it was checked.", schema: { type: "string", minLength: 1, maxLength: 1024 } }],
        responses: {
          "200": { description: "History, newest first.", content: { "application/json": { schema: ref("CheckHistory") } } },
          "400": errorResponse("Missing or invalid target."),
          ...commonErrors,
        },
      },
    },
    "/api/v1/checks/{id}": {
      get: {
        operationId: "getCheck",
        security: optionalKey,
        summary: "A check with its report so far.",
        description:
          "A finished check (`done`, `failed`) never changes: it comes with a strong ETag and `Cache-Control: private, max-age=300, immutable`. A check still queued or running is `no-store`, without an ETag.",
        parameters: [
          idParam,
          { name: "If-None-Match", in: "header", required: false, schema: { type: "string" }, description: "The ETag of a finished report you have: 304 while it is the same." },
        ],
        responses: {
          "200": {
            description: "The check.",
            headers: {
              ETag: { schema: { type: "string" }, description: "Strong validator of a finished report (absent while the check runs)." },
              "Cache-Control": { schema: { type: "string" }, description: "`private, max-age=300, immutable` when finished, else `no-store`." },
              ...rateLimitHeaders,
            },
            content: { "application/json": { schema: ref("AdvisedCheckView") } },
          },
          "304": { description: "Not modified: If-None-Match named the finished report's ETag.", headers: { ETag: { schema: { type: "string" }, description: "The report's ETag." }, ...rateLimitHeaders } },
          "404": errorResponse("No such check (`not_found`)."),
          ...commonErrors,
        },
      },
    },
    "/api/v1/checks/{id}/events": {
      get: {
        operationId: "streamCheckEvents",
        security: optionalKey,
        summary: "The check's events as Server-Sent Events; ends after `done` or `failed`.",
        parameters: [
          idParam,
          { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^\\d+$" }, description: "Resume after this event." },
          { name: "lastEventId", in: "query", required: false, schema: { type: "string", pattern: "^\\d+$" }, description: "Same as the header, for clients that cannot set it." },
        ],
        responses: {
          "200": {
            description:
              "A stream of Server-Sent Events, modelled as a sequence of CheckStreamEvent: each event is an `id:` line (its number in the check), " +
              "an `event:` line (its type) and a `data:` line (the event as JSON); `: keep-alive` comments come between.",
            content: { "text/event-stream": { schema: { type: "array", format: "event-stream", items: ref("CheckStreamEvent") } } },
          },
          "400": errorResponse("Bad Last-Event-ID (`bad_request`)."),
          "404": errorResponse("No such check (`not_found`)."),
          ...commonErrors,
        },
      },
    },
    ...monitoringPaths,
    "/api/v1/openapi.json": {
      get: {
        operationId: "getOpenApi",
        security: noKey,
        summary: "This document.",
        responses: { "200": { description: "OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
    "/api/health": {
      get: {
        operationId: "health",
        security: noKey,
        summary: "PostgreSQL and Redis reachability.",
        responses: {
          "200": { description: "Both up.", content: { "application/json": { schema: ref("Health") } } },
          "503": { description: "One is down.", content: { "application/json": { schema: ref("Health") } } },
        },
      },
    },
  },
  webhooks,
  components: {
    schemas,
    securitySchemes: {
      apiKey: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "rk_<43 base64url characters>",
        description: "API key for monitoring users (`npm run apikey -- create <name>` on the server): higher limits, counted per key; required for monitors.",
      },
    },
  },
};

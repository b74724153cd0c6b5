/**
 * The OpenAPI 3.1 description of the JSON API, written by hand next to the types it describes
 * (lib/checks/types.ts, lib/probe/types.ts). The service tests validate real responses against
 * it (tests/service), so a drift between the two fails the build.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string | string[]): Schema => ({ type: [...(Array.isArray(type) ? type : [type]), "null"] });
const str: Schema = { type: "string" };
const int: Schema = { type: "integer" };
const num: Schema = { type: "number" };
const bool: Schema = { type: "boolean" };
const strings: Schema = { type: "array", items: str };
const isoTime: Schema = { type: "string", format: "date-time" };

const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({
  type: "object",
  properties,
  required,
});

const verdict: Schema = { type: "string", enum: ["open-relay", "not-open-relay", "inconclusive", "unreachable"] };
const status: Schema = { type: "string", enum: ["queued", "running", "done", "failed"] };
const connectionStatus: Schema = {
  type: "string",
  enum: [
    "ok", "refused", "connect-timeout", "unreachable", "reset", "closed", "timeout", "greeting-rejected",
    "service-unavailable", "tls-failed", "protocol-error", "policy-refused", "aborted",
  ],
};
/** Adds properties a schema does not require: fields added to the report after its first version. */
const plus = (schema: Schema, more: Record<string, Schema>): Schema => ({ ...schema, properties: { ...(schema.properties as Record<string, Schema>), ...more } });
const severity: Schema = { type: "string", enum: ["critical", "warning", "info"] };

const replyBrief: Schema = { oneOf: [{ type: "null" }, obj({ code: int, enhanced: nullable("string"), text: str })] };

const schemas: Record<string, Schema> = {
  Error: obj({
    error: obj({
      code: {
        type: "string",
        enum: ["bad_request", "invalid_target", "target_refused", "invalid_api_key", "not_found", "payload_too_large", "rate_limited", "unavailable", "internal"],
      },
      message: str,
    }),
  }),
  CreateCheckRequest: {
    ...obj(
      {
        target: { type: "string", minLength: 1, maxLength: 1024, description: "A domain, a host name, or an IPv4/IPv6 address.", examples: ["mail.example.com"] },
        ports: { type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, minItems: 1, maxItems: 3, description: "SMTP ports to test (default [25]); 25, 465 and 587." },
        fresh: { type: "boolean", description: "Probe again instead of reusing a recent report (honoured after a cool-down)." },
      },
      ["target"],
    ),
    additionalProperties: false,
  },
  NormalizedTarget: obj(
    { input: str, kind: { type: "string", enum: ["domain", "ipv4", "ipv6"] }, name: str, unicode: str, stripped: str },
    ["input", "kind", "name"],
  ),
  CheckLinks: obj({ self: str, events: str, html: str, history: str }),
  ReportOptions: obj({ ports: { type: "array", items: int }, ehloName: str, senderDomain: str, recipientDomain: str }),
  ResolutionInfo: obj({
    mx: { type: "array", items: obj({ exchange: str, preference: int }) },
    implicitMx: bool,
    nullMx: bool,
    hosts: { type: "array", items: obj({ host: str, addresses: strings, error: nullable("string") }) },
    refused: { type: "array", items: obj({ host: str, ip: str, port: int, reason: str }) },
    errors: strings,
    durationMs: num,
  }),
  CaseResult: obj(
    {
      id: str,
      title: str,
      group: { type: "string", enum: ["baseline", "sender", "recipient"] },
      mailFrom: str,
      rcptTo: str,
      localScope: nullable("string"),
      nmap: int,
      outcome: { type: "string", enum: ["accepted", "rejected", "tempfail", "error", "skipped"] },
      stage: { enum: ["mail", "rcpt", null] },
      reply: replyBrief,
      mailReply: replyBrief,
      evidence: bool,
      note: nullable("string"),
      session: nullable("integer"),
      tls: bool,
      durationMs: nullable("number"),
      attempts: int,
    },
    ["id", "title", "group", "mailFrom", "rcptTo", "localScope", "outcome", "stage", "reply", "mailReply", "evidence", "note", "session", "tls", "durationMs", "attempts"],
  ),
  TranscriptLine: obj({ session: int, t: num, dir: { type: "string", enum: ["client", "server", "info"] }, line: str }),
  TlsInfo: obj(
    {
      mode: { type: "string", enum: ["implicit", "starttls"] },
      protocol: nullable("string"),
      cipher: nullable("string"),
      subject: nullable("string"),
      issuer: nullable("string"),
      subjectAltNames: strings,
      validFrom: nullable("string"),
      validTo: nullable("string"),
      expired: nullable("boolean"),
      selfSigned: nullable("boolean"),
      hostnameMatch: nullable("boolean"),
      authorized: bool,
      authorizationError: nullable("string"),
      handshakeMs: num,
      error: str,
    },
    ["mode", "protocol", "cipher", "authorized", "handshakeMs"],
  ),
  AdviceFix: obj({ software: str, steps: { ...strings, description: "In order; setting names and commands are exact." }, docs: str }, ["software", "steps"]),
  AdviceItem: obj(
    { id: str, severity, title: str, detail: str, fix: ref("AdviceFix"), caseIds: { ...strings, description: "The cases this item is about." } },
    ["id", "severity", "title", "detail"],
  ),
  Advice: obj({
    software: {
      oneOf: [{ type: "null" }, obj({ name: str, displayName: str, confidence: { type: "string", enum: ["high", "medium", "low"] }, evidence: strings })],
    },
    items: { type: "array", items: ref("AdviceItem"), description: "Most severe first: one item per problem, with its fix." },
  }),
  ServerReport: plus(obj(
    {
      host: str,
      ip: str,
      family: { type: "integer", enum: [4, 6] },
      port: int,
      mxPreference: nullable("integer"),
      ptr: strings,
      ptrMatches: nullable("boolean"),
      status: connectionStatus,
      statusDetail: nullable("string"),
      verdict,
      reason: str,
      banner: nullable("string"),
      greetingCode: nullable("integer"),
      ehloName: nullable("string"),
      usedHelo: bool,
      extensions: strings,
      pipelining: bool,
      size: nullable("number"),
      auth: obj({ mechanisms: strings, offeredBeforeTls: bool }),
      starttls: obj({ offered: bool, required: bool }),
      tls: { oneOf: [{ type: "null" }, ref("TlsInfo")] },
      baseline: obj({
        sender: nullable("string"),
        senderAccepted: bool,
        ownDomain: nullable("string"),
        catchAll: { type: "object", additionalProperties: nullable("boolean") },
      }),
      cases: { type: "array", items: ref("CaseResult") },
      findings: { type: "array", items: obj({ id: str, severity: { type: "string", enum: ["critical", "warning", "info"] }, message: str }) },
      timings: obj({ connectMs: nullable("number"), greetingMs: nullable("number"), ehloMs: nullable("number"), tlsMs: nullable("number"), totalMs: num }),
      sessions: {
        type: "array",
        items: obj({ id: int, status: connectionStatus, tls: bool, startedMs: num, endedMs: num, caseIds: strings, detail: nullable("string") }),
      },
      transcript: { type: "array", items: ref("TranscriptLine") },
      transcriptTruncated: bool,
    },
  ), {
    advice: { ...ref("Advice"), description: "What the server runs and what to do (API and --json only)." },
    summary: { ...str, description: "The server's verdict in words (API and --json only)." },
  }),
  PendingServer: obj({ key: str, host: str, ip: str, port: int, cases: { type: "array", items: ref("CaseResult") } }),
  CheckView: {
    ...obj(
      {
        id: { type: "string", pattern: "^[A-Za-z0-9_-]{22}$", description: "128 random bits, base64url." },
        status,
        createdAt: isoTime,
        startedAt: { oneOf: [{ type: "null" }, isoTime] },
        finishedAt: { oneOf: [{ type: "null" }, isoTime] },
        queuePosition: { type: ["integer", "null"], minimum: 1, description: "1-based place in the queue while queued." },
        error: { oneOf: [{ type: "null" }, obj({ code: str, message: str })] },
        url: str,
        links: ref("CheckLinks"),
        reused: bool,
        schemaVersion: int,
        target: ref("NormalizedTarget"),
        options: { oneOf: [{ type: "null" }, ref("ReportOptions")] },
        verdict: { oneOf: [{ type: "null" }, verdict] },
        reason: nullable("string"),
        durationMs: nullable("number"),
        resolution: { oneOf: [{ type: "null" }, ref("ResolutionInfo")] },
        servers: { type: "array", items: ref("ServerReport") },
        pending: { type: "array", items: ref("PendingServer") },
        summary: { ...nullable("string"), description: "The verdict in words; null while there is none." },
      },
      [
        "id", "status", "createdAt", "startedAt", "finishedAt", "queuePosition", "error", "url", "links",
        "schemaVersion", "target", "options", "verdict", "reason", "durationMs", "resolution", "servers",
      ],
    ),
    description: "A check: its state, and its report as far as it is known (the CLI's --json fields).",
  },
  CheckHistoryItem: obj({ id: str, status, createdAt: isoTime, finishedAt: { oneOf: [{ type: "null" }, isoTime] }, verdict: { oneOf: [{ type: "null" }, verdict] }, url: str }),
  CheckHistory: obj({ target: str, checks: { type: "array", items: ref("CheckHistoryItem"), maxItems: 50 } }),
  Health: obj({
    status: { type: "string", enum: ["ok", "down"] },
    checks: obj({ database: { type: "string", enum: ["ok", "down"] }, redis: { type: "string", enum: ["ok", "down"] } }),
  }),
  CheckStreamEvent: {
    description: "The `data:` of one Server-Sent Event; `event:` repeats `type`, `id:` is the event's number in the check.",
    type: "object",
    required: ["type", "t"],
    properties: {
      type: { type: "string", enum: ["status", "resolved", "connected", "reply", "case-result", "server-done", "done", "failed"] },
      t: { type: "number", description: "Milliseconds since the check (or probe) started." },
      status,
      server: str,
      session: int,
      tls: bool,
      command: nullable("string"),
      reply: obj({ code: int, enhanced: nullable("string"), text: str, lines: strings }),
      resolution: ref("ResolutionInfo"),
      servers: { type: "array", items: obj({ key: str, host: str, ip: str, port: int }) },
      result: ref("CaseResult"),
      report: { type: "object", description: "A ServerReport (server-done) or the whole CheckReport (done)." },
      error: obj({ code: str, message: str }),
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ref("Error") } },
});

const rateLimitHeaders = {
  "RateLimit-Limit": { schema: int, description: "Requests allowed in the window." },
  "RateLimit-Remaining": { schema: int, description: "Requests left in the window." },
  "RateLimit-Reset": { schema: int, description: "Seconds until the window resets." },
};

const tooMany = {
  description: "Rate limit reached.",
  headers: { "Retry-After": { schema: int, description: "Seconds to wait." }, ...rateLimitHeaders },
  content: { "application/json": { schema: ref("Error") } },
};

const badKey = {
  description: "The Authorization header has a malformed, unknown or revoked API key (`invalid_api_key`).",
  headers: { "WWW-Authenticate": { schema: str } },
  content: { "application/json": { schema: ref("Error") } },
};

/** Every operation that counts against a limit: anonymous (per IP) or with an API key (per key). */
const optionalKey = [{}, { apiKey: [] }];

const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_-]{22}$" } };

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "relaycheck API",
    version: "1.0.0",
    description:
      "Checks whether an SMTP server is an open relay. Create a check, follow it live (Server-Sent Events) or poll it, read the report. " +
      "Reports are unlisted: found by id, or by the exact target. " +
      "Without credentials, limits count per client IP; with an API key (`Authorization: Bearer rk_…`, issued by the operator) " +
      "they count per key and are higher. A bad or revoked key is refused with 401, never downgraded to anonymous.",
  },
  servers: [{ url: "/" }],
  paths: {
    "/api/v1/checks": {
      post: {
        operationId: "createCheck",
        security: optionalKey,
        summary: "Create a check (or reuse a recent one of the same target).",
        requestBody: { required: true, content: { "application/json": { schema: ref("CreateCheckRequest") } } },
        responses: {
          "202": { description: "Check created and queued.", headers: rateLimitHeaders, content: { "application/json": { schema: ref("CheckView") } } },
          "200": { description: "A recent check of the same target was reused (`reused: true`).", content: { "application/json": { schema: ref("CheckView") } } },
          "400": errorResponse("Malformed request or refused target."),
          "413": errorResponse("Request body too large."),
          "415": errorResponse("The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)."),
          "401": badKey,
          "429": tooMany,
          "503": errorResponse("A dependency is down."),
        },
      },
      get: {
        operationId: "listChecksForTarget",
        security: optionalKey,
        summary: "The latest checks of one exact target.",
        parameters: [{ name: "target", in: "query", required: true, schema: { type: "string", minLength: 1, maxLength: 1024 } }],
        responses: {
          "200": { description: "History, newest first.", content: { "application/json": { schema: ref("CheckHistory") } } },
          "400": errorResponse("Missing or invalid target."),
          "401": badKey,
          "429": tooMany,
        },
      },
    },
    "/api/v1/checks/{id}": {
      get: {
        operationId: "getCheck",
        security: optionalKey,
        summary: "A check with its report so far.",
        parameters: [idParam],
        responses: {
          "200": { description: "The check.", content: { "application/json": { schema: ref("CheckView") } } },
          "404": errorResponse("No such check."),
          "401": badKey,
          "429": tooMany,
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
            description: "`id:`, `event:` and `data:` lines per event (data: CheckStreamEvent); `: keep-alive` comments.",
            content: { "text/event-stream": { schema: { type: "string" }, itemSchema: ref("CheckStreamEvent") } },
          },
          "400": errorResponse("Bad Last-Event-ID."),
          "404": errorResponse("No such check."),
          "401": badKey,
          "429": tooMany,
        },
      },
    },
    "/api/v1/openapi.json": {
      get: { operationId: "getOpenApi", summary: "This document.", responses: { "200": { description: "OpenAPI 3.1 document.", content: { "application/json": {} } } } },
    },
    "/api/health": {
      get: {
        operationId: "health",
        summary: "PostgreSQL and Redis reachability.",
        responses: {
          "200": { description: "Both up.", content: { "application/json": { schema: ref("Health") } } },
          "503": { description: "One is down.", content: { "application/json": { schema: ref("Health") } } },
        },
      },
    },
  },
  components: {
    schemas,
    securitySchemes: {
      apiKey: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "rk_<43 base64url characters>",
        description: "Optional API key for monitoring users (`npm run apikey -- create <name>` on the server). Higher limits, counted per key.",
      },
    },
  },
} as const;

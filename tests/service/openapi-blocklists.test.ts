/**
 * The OpenAPI document describes what the engine puts in servers[].dnsbl and servers[].names:
 * a real report (engine, fake SMTP server, local DNS server playing the lists) validates against
 * the ServerReport schema, and the schema refuses a wrong blocklist problem. Needs no service.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "@/app/api/_lib/openapi-document";
import { probe, type ServerReport } from "@/lib/probe";
import { queryName } from "@/lib/probe/check-blocklists";
import { FAST_TIMEOUTS, loopbackPolicy, testTarget } from "@/tests/engine/helpers";
import { startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

let dns: LocalDnsServer;
let fake: FakeServer;
let server: ServerReport;

beforeAll(async () => {
  fake = await startOpenRelay({ host: "127.0.0.74", hostname: "mx.schema.test", domains: ["schema.test"] });
  dns = await startDnsServer({
    mx: { "schema.test": [{ exchange: "mx.schema.test", priority: 10 }] },
    a: { "mx.schema.test": ["127.0.0.74"], [queryName("ip", "127.0.0.74", "zen.spamhaus.org")!]: ["127.0.0.2"], "schema.test.dbl.spamhaus.org": ["127.255.255.254"] },
    ptr: { "127.0.0.74": ["mx.schema.test"] },
  });
  const report = await probe(testTarget("schema.test"), { ports: [fake.port], dnsServers: [dns.address], addressPolicy: loopbackPolicy([fake.port]), timeouts: FAST_TIMEOUTS });
  server = report.servers[0]!;
});

afterAll(async () => {
  await Promise.all([fake?.close(), dns?.close()]);
});

function validator(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "openapi.json", components: JSON.parse(JSON.stringify(openApiDocument.components)) }, "openapi.json");
  return ajv.getSchema(`openapi.json#/components/schemas/${name}`)!;
}

describe("OpenAPI: servers[].dnsbl and servers[].names", () => {
  it("a real server report with blocklist answers validates", () => {
    expect(server.dnsbl?.listed.map((l) => l.zone)).toEqual(["zen.spamhaus.org"]);
    expect(server.dnsbl?.domains.find((d) => d.subject === "schema.test")?.couldNotQuery[0]?.problem).toBe("error-code");
    const validate = validator("ServerReport");
    expect(validate(server) ? [] : validate.errors).toEqual([]);
  });

  it("a report without them (blocklists off, an older report) validates too", () => {
    const { dnsbl: _d, names: _n, ...older } = server;
    const validate = validator("ServerReport");
    expect(validate(older) ? [] : validate.errors).toEqual([]);
  });

  it("refuses an unknown problem", () => {
    const bad = structuredClone(server);
    bad.dnsbl!.couldNotQuery.push({ list: "x", zone: "x.test", problem: "gremlins" as never, reason: "?", codes: [] });
    expect(validator("ServerReport")(bad)).toBe(false);
  });
});

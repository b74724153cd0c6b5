import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "./env";

const base = { DATABASE_URL: "postgresql://u@h/db", IP_HASH_SECRET: "x".repeat(32) };

describe("parseEnv", () => {
  it("applies defaults and treats empty variables as unset", () => {
    const env = parseEnv({ ...base, RELAYCHECK_EHLO_NAME: "", TRUST_PROXY: "", RELAYCHECK_ALLOW_TARGETS: "" });
    expect(env).toMatchObject({ REDIS_URL: "redis://127.0.0.1:6379", PORT: 3000, TRUST_PROXY: 0, RELAYCHECK_ALLOW_TARGETS: [], WORKER_CONCURRENCY: 200, WORKER_DATABASE_POOL_SIZE: 10 });
    expect(env).toMatchObject({ RELAYCHECK_MAX_CHECKS_PER_SERVER: 1, RATE_LIMIT_KEY_POINTS: 200, RATE_LIMIT_KEY_WINDOW_SECONDS: 600, RATE_LIMIT_KEY_READS_PER_MINUTE: 6000 });
    expect(env.RELAYCHECK_EHLO_NAME).toBeUndefined();
    expect(env.RATE_LIMIT_IPV6_PREFIX).toBe(64);
  });

  it("gives monitoring, alerts and metrics their defaults", () => {
    const env = parseEnv(base);
    expect(env).toMatchObject({ MONITORS_PER_KEY: 100, ALERT_EMAIL_FROM: "relaycheck <relaycheck@localhost>", ALERT_ATTEMPTS: 6, ALERT_RETRY_BASE_MS: 60_000, WEBHOOK_ALLOW_TARGETS: [], WORKER_METRICS_HOST: "127.0.0.1" });
    for (const unset of ["SMTP_URL", "PUBLIC_URL", "METRICS_TOKEN", "WORKER_METRICS_PORT", "RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS"] as const) expect(env[unset]).toBeUndefined();
  });

  it.each([
    ["32", 32],
    ["48", 48],
    ["128", 128],
  ])("RATE_LIMIT_IPV6_PREFIX=%s → %i", (value, bits) => {
    expect(parseEnv({ ...base, RATE_LIMIT_IPV6_PREFIX: value }).RATE_LIMIT_IPV6_PREFIX).toBe(bits);
  });

  it("reads REDIS_CLUSTER_NODES as seed nodes, and refuses a bad one by name", () => {
    expect(parseEnv(base).REDIS_CLUSTER_NODES).toEqual([]);
    const env = parseEnv({ ...base, REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001 redis://:secret@10.0.0.3:7002" });
    expect(env.REDIS_CLUSTER_NODES).toEqual(["10.0.0.1:7000", "10.0.0.2:7001", "redis://:secret@10.0.0.3:7002"]);
    for (const bad of ["10.0.0.1:99999", "http://10.0.0.1:7000", "redis://10.0.0.1:7000/2"]) {
      expect(() => parseEnv({ ...base, REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES: expected host:port/);
    }
  });

  it("re-check rounds and the probe's retry pause and rate-limit wait", () => {
    const env = parseEnv(base);
    expect(env.RECHECK_DELAYS_SECONDS).toEqual([360, 960]);
    expect(env.RELAYCHECK_RETRY_PAUSE_MS).toBeUndefined();
    expect(env.RELAYCHECK_RATE_LIMIT_WAIT_MS).toBeUndefined();
    expect(parseEnv({ ...base, RECHECK_DELAYS_SECONDS: "1, 3" }).RECHECK_DELAYS_SECONDS).toEqual([1, 3]);
    expect(parseEnv({ ...base, RECHECK_DELAYS_SECONDS: "off" }).RECHECK_DELAYS_SECONDS).toEqual([]);
    expect(parseEnv({ ...base, RELAYCHECK_RETRY_PAUSE_MS: "0", RELAYCHECK_RATE_LIMIT_WAIT_MS: "120000" })).toMatchObject({ RELAYCHECK_RETRY_PAUSE_MS: 0, RELAYCHECK_RATE_LIMIT_WAIT_MS: 120_000 });
    for (const [value, message] of [
      ["6m", /RECHECK_DELAYS_SECONDS: "6m" is not a number of seconds/],
      ["0", /RECHECK_DELAYS_SECONDS: "0" is not a number of seconds/],
      ["960,360", /RECHECK_DELAYS_SECONDS: each round must come later/],
      ["1,2,3,4,5,6", /RECHECK_DELAYS_SECONDS: at most 5 rounds/],
    ] as const) {
      expect(() => parseEnv({ ...base, RECHECK_DELAYS_SECONDS: value })).toThrow(message);
    }
    expect(() => parseEnv({ ...base, RELAYCHECK_RETRY_PAUSE_MS: "-1" })).toThrow(/RELAYCHECK_RETRY_PAUSE_MS/);
    expect(() => parseEnv({ ...base, RELAYCHECK_RATE_LIMIT_WAIT_MS: "soon" })).toThrow(/RELAYCHECK_RATE_LIMIT_WAIT_MS/);
  });

  it("parses lists, numbers and TRUST_PROXY", () => {
    const env = parseEnv({ ...base, RELAYCHECK_EXTRA_PORTS: "2525, 10025", RELAYCHECK_DNS_SERVERS: "127.0.0.1:5353 [::1]:53", TRUST_PROXY: "true", RELAYCHECK_ALLOW_TARGETS: "127.0.0.0/8" });
    expect(env.RELAYCHECK_EXTRA_PORTS).toEqual([2525, 10025]);
    expect(env.RELAYCHECK_DNS_SERVERS).toEqual(["127.0.0.1:5353", "[::1]:53"]);
    expect(env.TRUST_PROXY).toBe(1);
    expect(env.RELAYCHECK_ALLOW_TARGETS).toEqual(["127.0.0.0/8"]);
    expect(parseEnv({ ...base, TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
  });

  it.each([
    [{ DATABASE_URL: undefined }, "DATABASE_URL"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ IP_HASH_SECRET: "short" }, "IP_HASH_SECRET"],
    [{ PORT: "http" }, "PORT"],
    [{ TRUST_PROXY: "maybe" }, "TRUST_PROXY"],
    [{ RELAYCHECK_MAX_CHECKS_PER_SERVER: "0" }, "RELAYCHECK_MAX_CHECKS_PER_SERVER"],
    [{ RATE_LIMIT_KEY_POINTS: "many" }, "RATE_LIMIT_KEY_POINTS"],
    [{ RATE_LIMIT_IPV6_PREFIX: "31" }, "RATE_LIMIT_IPV6_PREFIX"],
    [{ RATE_LIMIT_IPV6_PREFIX: "129" }, "RATE_LIMIT_IPV6_PREFIX"],
    [{ RATE_LIMIT_IPV6_PREFIX: "/64" }, "RATE_LIMIT_IPV6_PREFIX"],
    [{ RATE_LIMIT_IPV6_PREFIX: "64.5" }, "RATE_LIMIT_IPV6_PREFIX"],
    [{ RELAYCHECK_EXTRA_PORTS: "25,99999" }, "RELAYCHECK_EXTRA_PORTS"],
    [{ RELAYCHECK_ALLOW_TARGETS: "not-a-cidr" }, "RELAYCHECK_ALLOW_TARGETS"],
    [{ RELAYCHECK_EHLO_NAME: "bad name\r\n" }, "RELAYCHECK_EHLO_NAME"],
    [{ SMTP_URL: "http://mail.example.org" }, "SMTP_URL"],
    [{ PUBLIC_URL: "ftp://relaycheck.example" }, "PUBLIC_URL"],
    [{ WEBHOOK_ALLOW_TARGETS: "10.0.0.0/33" }, "WEBHOOK_ALLOW_TARGETS"],
    [{ METRICS_TOKEN: "short" }, "METRICS_TOKEN"],
    [{ WORKER_METRICS_PORT: "65536" }, "WORKER_METRICS_PORT"],
    [{ RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS: "7200" }, "RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS"],
  ])("fails naming the bad variable (%o)", (override, name) => {
    expect(() => parseEnv({ ...base, ...override })).toThrow(EnvError);
    expect(() => parseEnv({ ...base, ...override })).toThrow(new RegExp(name));
  });
});

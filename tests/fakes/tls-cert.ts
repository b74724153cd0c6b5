/**
 * A self-signed certificate made at test time with the `openssl` CLI (EC P-256, one day), cached
 * per host name for the test process. Nothing is shipped in the repository.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface KeyAndCert {
  key: string;
  cert: string;
}

const cache = new Map<string, KeyAndCert>();

export function selfSignedCert(hostname: string): KeyAndCert {
  const cached = cache.get(hostname);
  if (cached) return cached;
  if (!/^[a-z0-9.-]+$/i.test(hostname)) throw new Error(`unsafe host name for a certificate: ${hostname}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "relaycheck-cert-"));
  try {
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", `/CN=${hostname}`, "-addext", `subjectAltName=DNS:${hostname}`, "-keyout", key, "-out", cert],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const result = { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
    cache.set(hostname, result);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

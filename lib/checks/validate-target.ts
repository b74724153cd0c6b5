/**
 * The API's checks on what it is asked to probe, before anything is stored or queued:
 * the name (lib/probe normalizeTarget: no CR/LF, no URLs, no ports…), the ports, and for an IP
 * literal the target policy itself, so that `127.0.0.1` is refused at once with a clear 400.
 * Names are checked address by address by the engine after resolution (no second lookup).
 */
import { normalizeTarget, TargetInputError, type AddressPolicy, type NormalizedTarget } from "@/lib/probe";
import { createAddressPolicy, isAllowedPort } from "@/lib/security/target-policy";
import { AppError } from "@/lib/errors";
import type { CheckSettings } from "./services";

export const DEFAULT_PORTS = [25];

export function policyOf(settings: Pick<CheckSettings, "allowTargets" | "extraPorts">): AddressPolicy {
  return createAddressPolicy({ allow: settings.allowTargets, extraPorts: settings.extraPorts });
}

export function validateTarget(
  input: string,
  ports: number[] | undefined,
  settings: Pick<CheckSettings, "allowTargets" | "extraPorts" | "allowReservedNames">,
): { target: NormalizedTarget; ports: number[] } {
  const target = normalizeTargetOrThrow(input, settings.allowReservedNames);
  const wanted = [...new Set(ports?.length ? ports : DEFAULT_PORTS)].sort((a, b) => a - b);
  for (const port of wanted) {
    if (!isAllowedPort(port, settings.extraPorts)) {
      throw new AppError("target_refused", `Port ${port} is not an SMTP port relaycheck may test (25, 465 or 587).`);
    }
  }
  if (target.kind !== "domain") {
    const policy = policyOf(settings);
    for (const port of wanted) {
      const decision = policy(target.name, port);
      if (!decision.allowed) throw new AppError("target_refused", sentence(decision.reason));
    }
  }
  return { target, ports: wanted };
}

export function normalizeTargetOrThrow(input: string, allowReservedNames: boolean): NormalizedTarget {
  try {
    return normalizeTarget(input, { allowReservedNames });
  } catch (e) {
    if (e instanceof TargetInputError) throw new AppError("invalid_target", e.message);
    throw e;
  }
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

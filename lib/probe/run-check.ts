import type { CheckReport, NormalizedTarget, ProbeEvent } from "./types";
import type { ProbeOptionsInput } from "./options";

// Placeholder replaced by the engine (issue 2); the signature is the contract.
export async function* runCheck(_target: string | NormalizedTarget, _options: ProbeOptionsInput): AsyncGenerator<ProbeEvent, CheckReport, void> {
  throw new Error("engine not implemented yet");
}

export async function probe(target: string | NormalizedTarget, options: ProbeOptionsInput, onEvent?: (e: ProbeEvent) => void): Promise<CheckReport> {
  const it = runCheck(target, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    onEvent?.(r.value);
  }
}

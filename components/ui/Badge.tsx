import type { ReactNode } from "react";
import { TONE_CLASSES, type Tone } from "@/components/report/labels";

/** A coloured label that always carries words and a symbol, never colour alone. */
export function Badge({ tone, icon, children }: { tone: Tone; icon?: string; children: ReactNode }) {
  return (
    <span className={`inline-flex items-baseline gap-1 rounded border px-1.5 py-0.5 text-sm font-medium leading-tight ${TONE_CLASSES[tone]}`}>
      {icon ? <span aria-hidden="true">{icon}</span> : null}
      <span>{children}</span>
    </span>
  );
}

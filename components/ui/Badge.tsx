import type { ReactNode } from "react";
import type { Tone } from "@/components/report/labels";

/** A coloured label that always carries words and a symbol, never colour alone. */
export function Badge({ tone, icon, children }: { tone: Tone; icon?: string; children: ReactNode }) {
  return (
    <span className={`badge tone-${tone}`}>
      {icon ? <span aria-hidden="true">{icon}</span> : null}
      {children}
    </span>
  );
}

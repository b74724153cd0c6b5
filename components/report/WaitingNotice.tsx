import type { CheckWait } from "@/lib/checks/types";
import { formatElapsed } from "./live-progress";

/** What a waiting check waits for, with a countdown to the end of the wait. */
export function WaitingNotice({ wait, now }: { wait: CheckWait; now: number | null }) {
  const left = now === null ? null : Math.max(0, Date.parse(wait.until) - now);
  return (
    <div className="space-y-1" data-waiting={wait.reason}>
      <p className="font-semibold">{wait.reason === "delivery" ? "Waiting for delivery" : "Waiting to re-check"}</p>
      <p className="text-sm">{wait.message}</p>
      {left !== null ? (
        <p className="text-sm text-muted" data-countdown>
          {formatElapsed(left)} left
        </p>
      ) : null}
    </div>
  );
}

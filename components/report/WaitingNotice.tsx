import type { CheckWait } from "@/lib/checks/types";
import { formatElapsed } from "./live-progress";

/**
 * The countdown to the end of a check's wait (a re-check starts, the wait for a delivery ends);
 * what it waits for is said by the status line and the follow-up notice above it.
 */
export function WaitingNotice({ wait, now }: { wait: CheckWait; now: number | null }) {
  const left = now === null ? null : Math.max(0, Date.parse(wait.until) - now);
  return (
    <div className="space-y-1" data-waiting={wait.reason}>
      {left !== null ? (
        <p className="text-sm text-muted" data-countdown>
          {formatElapsed(left)} left
        </p>
      ) : null}
    </div>
  );
}

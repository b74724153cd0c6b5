import type { ServerReport } from "@/lib/probe/types";
import { formatMs, plural } from "./format";
import { CONNECTION_STATUS, type Tone } from "./labels";
import { buildTimeline, type SegmentKind, type TimelineModel } from "./timeline-model";

// Short names (app/globals.css): one colour and one shape per bar, repeated for every step.
const BAR: Record<Tone, string> = {
  danger: "tl-danger",
  ok: "tl-ok",
  warn: "tl-warn",
  info: "tl-info",
  neutral: "tl-neutral",
};

const KIND_SHAPE: Record<SegmentKind, string> = {
  connect: "tl-step",
  greeting: "tl-step",
  ehlo: "tl-ehlo",
  tls: "tl-ehlo",
  case: "tl-case",
};

const pct = (v: number, total: number) => `${Math.min(100, Math.max(0, (v / total) * 100)).toFixed(2)}%`;

const LEGEND: { tone: Tone; words: string }[] = [
  { tone: "neutral", words: "session steps: connect, greeting, EHLO, TLS" },
  { tone: "info", words: "baseline test" },
  { tone: "ok", words: "relay attempt refused" },
  { tone: "danger", words: "relay attempt accepted: relays" },
  { tone: "warn", words: "proves nothing either way (temporary failure, no answer, catch-all)" },
];

/**
 * The conversation on a time axis: one row per SMTP session, a bar per step. A slow greeting,
 * a tarpit between cases or a reconnect after a drop is visible at a glance. Each colour means
 * one thing (the legend); each bar's words are in its tooltip, and every step is in a table
 * below that opens by keyboard, for people who cannot hover or see the bars: the bars
 * themselves are hidden from assistive technology (the table says it all once, not twice).
 */
export function Timeline({ server, model = buildTimeline(server) }: { server: ServerReport; model?: TimelineModel }) {
  if (!model.rows.length) return <p className="text-sm text-muted">No session was opened.</p>;
  const total = model.totalMs;
  return (
    <figure className="m-0">
      <div className="space-y-2">
        {model.rows.map(({ session, segments }) => (
          <div key={session.id} className="grid grid-cols-[6.5rem_1fr] items-center gap-2">
            <div className="text-xs text-muted">
              <span className="font-semibold text-ink">Session {session.id}</span>
              <span className="sr-only">: {CONNECTION_STATUS[session.status]}</span>
              <span className="block">{session.tls ? "TLS · " : ""}{session.status === "ok" ? formatMs(session.endedMs - session.startedMs) : session.status}</span>
            </div>
            <div className="relative h-6 rounded bg-sunken" aria-hidden="true">
              <span
                className="absolute top-0 bottom-0 rounded border border-dashed border-line"
                style={{ left: pct(session.startedMs, total), width: pct(Math.max(session.endedMs - session.startedMs, 0), total) }}
              />
              {segments.map((s, i) => (
                <span
                  key={i}
                  title={`${s.label} — ${formatMs(s.end - s.start)} (at ${formatMs(s.start)})`}
                  className={`tl-bar ${KIND_SHAPE[s.kind]} ${BAR[s.tone]}`}
                  style={{ left: pct(s.start, total), width: pct(s.end - s.start, total) }}
                />
              ))}
            </div>
          </div>
        ))}
        <div className="grid grid-cols-[6.5rem_1fr] gap-2 text-xs text-muted" aria-hidden="true">
          <span />
          <span className="flex justify-between">
            <span>0</span>
            <span>{formatMs(total / 2)}</span>
            <span>{formatMs(total)}</span>
          </span>
        </div>
      </div>
      <figcaption className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
        {LEGEND.map((l) => (
          <span key={l.tone}>
            <span aria-hidden="true" className={`mr-1 inline-block h-2 w-3 rounded-sm border ${BAR[l.tone]}`} />
            {l.words}
          </span>
        ))}
      </figcaption>
      <details className="mt-2 text-sm">
        <summary>Every step as a table ({plural(model.rows.reduce((n, r) => n + r.segments.length, 0), "step")})</summary>
        <div className="mt-1 max-h-80 overflow-auto" tabIndex={0} role="region" aria-label={`Steps of the conversation with ${server.host}`}>
          <table className="w-full text-left text-xs">
            <caption className="sr-only">Steps of the conversation with {server.host}, per session</caption>
            <thead>
              <tr className="border-b border-line text-muted">
                <th scope="col" className="px-2 py-1 font-semibold">Session</th>
                <th scope="col" className="px-2 py-1 font-semibold">Step</th>
                <th scope="col" className="px-2 py-1 font-semibold">Starts at</th>
                <th scope="col" className="px-2 py-1 font-semibold">Took</th>
              </tr>
            </thead>
            <tbody>
              {model.rows.flatMap(({ session, segments }) =>
                segments.map((s, i) => (
                  <tr key={`${session.id}-${i}`} className="tl-row">
                    <td>{session.id}</td>
                    <td>{s.label}</td>
                    <td>{formatMs(s.start)}</td>
                    <td>{formatMs(s.end - s.start)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

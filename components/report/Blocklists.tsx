import type { BlocklistLookup, ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatUtc, plural, serverSlug } from "./format";
import { visible } from "./visible";

const mono = "font-mono text-[0.8125rem] wrap-anywhere";

function asked(lookup: BlocklistLookup): number {
  return lookup.listed.length + lookup.notListed.length + lookup.couldNotQuery.length;
}

/** One address or name: listed on N of M, each listing with its meaning and delisting page. */
function Lookup({ lookup, label }: { lookup: BlocklistLookup; label: string }) {
  const total = asked(lookup);
  if (total === 0) return null;
  return (
    <div className="space-y-2 rounded border border-line p-3" data-blocklist-subject={lookup.subject}>
      <p className="flex flex-wrap items-baseline gap-2 text-sm">
        <span>
          {label} <span className={mono}>{visible(lookup.subject)}</span>
        </span>
        {lookup.listed.length ? (
          <Badge tone="danger" icon="✕">
            listed on {lookup.listed.length} of {plural(total, "list")}
          </Badge>
        ) : (
          <Badge tone="ok" icon="✓">
            not listed on {lookup.notListed.length} of {plural(total, "list")}
          </Badge>
        )}
        {lookup.couldNotQuery.length ? (
          <Badge tone="warn" icon="?">
            {lookup.couldNotQuery.length} could not be asked
          </Badge>
        ) : null}
      </p>
      {lookup.listed.length ? (
        <ul className="space-y-2 text-sm">
          {lookup.listed.map((l) => (
            <li key={l.zone} data-blocklist-status="listed">
              <strong>{visible(l.list)}</strong> <span className={`${mono} text-muted`}>{visible(l.zone)}</span>
              <ul className="list-disc pl-5">
                {l.meanings.map((m, i) => (
                  <li key={i}>{visible(m)}</li>
                ))}
              </ul>
              <span className="text-muted">
                answer <span className={mono}>{visible(l.codes.join(", "))}</span>
              </span>
              {l.delistUrl && /^https?:\/\//.test(l.delistUrl) ? (
                <>
                  {" · "}
                  <a href={l.delistUrl} rel="noreferrer noopener">
                    Delisting page of {visible(l.list)}
                  </a>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {lookup.couldNotQuery.length ? (
        <ul className="space-y-1 text-sm">
          {lookup.couldNotQuery.map((u) => (
            <li key={u.zone} data-blocklist-status="could-not-query">
              <strong>{visible(u.list)}</strong> could not be asked: {visible(u.reason)}
              {u.codes.length ? (
                <>
                  {" "}
                  (answer <span className={mono}>{visible(u.codes.join(", "))}</span>)
                </>
              ) : null}
              . This is not a &ldquo;not listed&rdquo;.
            </li>
          ))}
        </ul>
      ) : null}
      {lookup.notListed.length ? (
        <details className="text-sm">
          <summary className="text-muted">Not listed on {plural(lookup.notListed.length, "list")}</summary>
          <ul className="mt-1 flex flex-wrap gap-x-3 gap-y-1">
            {lookup.notListed.map((l) => (
              <li key={l.zone} data-blocklist-status="not-listed">
                {visible(l.list)} <span className={`${mono} text-muted`}>{visible(l.zone)}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}

/**
 * A server's DNS blocklist status: its address on the IP lists, its host name and the checked
 * domain on the domain lists. Lists that could not be asked are shown as such, never as "not
 * listed". Nothing when the check asked no lists (RELAYCHECK_DNSBLS=off, or an older report).
 */
export function Blocklists({ server }: { server: ServerReport }) {
  const dnsbl = server.dnsbl;
  if (!dnsbl) return null;
  const headingId = `${serverSlug(server.ip, server.port)}-blocklists`;
  const listed = dnsbl.listed.length > 0 || dnsbl.domains.some((d) => d.listed.length > 0);
  return (
    <section aria-labelledby={headingId} className="space-y-2" data-blocklists={listed ? "listed" : "clean"}>
      <h3 id={headingId} className="text-lg font-semibold">
        Blocklists
      </h3>
      <Lookup lookup={dnsbl} label="Address" />
      {dnsbl.domains.map((d) => (
        <Lookup key={d.subject} lookup={d} label="Name" />
      ))}
      <p className="text-xs text-muted">
        Asked {formatUtc(dnsbl.checkedAt)}
        {dnsbl.cached ? " (answers kept from an earlier check)" : ""}. Lists name addresses and domains that sent spam or should not send mail; receivers that use them refuse the mail.
      </p>
    </section>
  );
}

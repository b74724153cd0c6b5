import { escapeText as e, type BlocklistLookup, type ServerReport } from "../lib/probe";

/**
 * The facts beside the verdict, for the human report: the HELO name against PTR and forward
 * lookups, the certificate's days left, and the blocklists (listed on N of M, each listing with
 * its meaning and where to ask for removal, lists that could not be asked said so).
 */
export function formatFacts(s: ServerReport): string[] {
  const out: string[] = [];
  const names = s.names;
  if (names?.heloName) {
    const resolves = names.heloResolves === true ? "resolves to this address" : names.heloResolves === false ? "does not resolve to this address" : "could not be looked up";
    const fcrdns = names.fcrdns.length ? `forward-confirmed PTR: ${e(names.fcrdns.join(", "))}` : "no forward-confirmed PTR";
    out.push(`  Names: HELO ${e(names.heloName)} ${resolves}; ${fcrdns}${names.heloMatchesPtr === false ? " (the HELO name is not among them)" : ""}`);
  }
  if (s.tls && !s.tls.error && s.tls.daysLeft != null && s.tls.daysLeft >= 0) {
    out.push(`  Certificate: expires in ${s.tls.daysLeft === 1 ? "1 day" : `${s.tls.daysLeft} days`}${s.tls.daysLeft < 14 ? " — renew it soon" : ""}`);
  }
  if (s.dnsbl) {
    out.push(...formatLookup("Blocklists", s.dnsbl));
    for (const domain of s.dnsbl.domains) out.push(...formatLookup("Domain blocklists", domain));
  }
  return out;
}

/** The concise report's part of it: only the blocklists that list the server or its names. */
export function formatListings(s: ServerReport): string[] {
  if (!s.dnsbl) return [];
  return [
    ...(s.dnsbl.listed.length ? formatLookup("Blocklists", s.dnsbl) : []),
    ...s.dnsbl.domains.filter((d) => d.listed.length).flatMap((d) => formatLookup("Domain blocklists", d)),
  ];
}

function formatLookup(label: string, lookup: BlocklistLookup): string[] {
  const asked = lookup.listed.length + lookup.notListed.length + lookup.couldNotQuery.length;
  if (asked === 0) return [];
  const summary = lookup.listed.length ? `LISTED on ${lookup.listed.length} of ${asked}` : `not listed on ${lookup.notListed.length} of ${asked}`;
  const unanswered = lookup.couldNotQuery.length ? `; ${lookup.couldNotQuery.length} could not be asked` : "";
  const cached = lookup.cached ? ` (answers from ${lookup.checkedAt})` : "";
  const out = [`  ${label}: ${e(lookup.subject)} ${summary}${unanswered}${cached}`];
  for (const l of lookup.listed) {
    out.push(`    listed: ${e(l.list)} (${e(l.zone)}) ${e(l.codes.join(", "))}: ${e(l.meanings.join("; "))}`);
    if (l.delistUrl) out.push(`      delisting: ${e(l.delistUrl)}`);
  }
  for (const u of lookup.couldNotQuery) out.push(`    could not ask ${e(u.list)} (${e(u.zone)}): ${e(u.reason)}`);
  return out;
}

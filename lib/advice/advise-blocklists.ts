import type { BlocklistListing, BlocklistLookup, ServerReport } from "@/lib/probe/types";
import type { AdviceFix, AdviceItem } from "./types";

/**
 * What to do about blocklists, tied to the relay verdict: a listed open relay is closed first and
 * delisted after (lists refuse, or undo within hours, a removal while the spam goes on); a listed
 * server that is not a relay finds the cause, fixes it, then asks each list; lists that could not
 * be asked are named, with their own lookup page, so "not listed" is never assumed.
 */
export function blocklistItems(server: ServerReport): AdviceItem[] {
  const dnsbl = server.dnsbl;
  if (!dnsbl) return [];
  const items: AdviceItem[] = [];
  const openRelay = server.verdict === "open-relay";

  if (dnsbl.listed.length) {
    const names = dnsbl.listed.map((l) => l.list).join(", ");
    const policyOnly = dnsbl.listed.every(isPolicyListing);
    items.push({
      id: "dnsbl-listed",
      severity: openRelay ? "critical" : policyOnly ? "info" : "warning",
      title: openRelay ? `Open relay and listed on ${names}: close the relay first, then request delisting` : `The server's address is listed on ${names}`,
      detail: [
        `${server.ip} is on ${dnsbl.listed.length} of ${asked(dnsbl)} DNS blocklists: ${describe(dnsbl.listed)}. Receivers that use these lists refuse or junk mail from this address.`,
        openRelay
          ? "An open relay keeps sending spam for strangers, so the lists refuse a removal request made before the relay is closed, or list the address again within hours. Close the relay, check again here until it says \"not an open relay\", then ask each list to remove the address."
          : policyOnly
            ? "This is a policy listing, not a spam report: the range is meant for end users. It matters only if this server sends mail itself; then ask the provider of the address (or the list) to exclude it."
            : "Find out what the lists saw (their lookup page says), fix the cause (a compromised account or machine, a web form or script that sends mail), then ask each list to remove the address.",
      ].join(" "),
      fix: delistFix(dnsbl.listed, server.ip, openRelay),
    });
  }

  for (const domain of dnsbl.domains.filter((d) => d.listed.length)) {
    items.push({
      id: "dnsbl-domain-listed",
      severity: "warning",
      title: `The name ${domain.subject} is listed on ${domain.listed.map((l) => l.list).join(", ")}`,
      detail: `${domain.subject} is on domain blocklists: ${describe(domain.listed)}. Receivers refuse or junk mail that names a listed domain, wherever it comes from. Find out why (the list's lookup page says), remove what was abused, then ask for removal.`,
      fix: delistFix(domain.listed, domain.subject, false),
    });
  }

  const unasked = [dnsbl, ...dnsbl.domains].flatMap((lookup) => lookup.couldNotQuery.map((u) => ({ ...u, subject: lookup.subject })));
  if (unasked.length) {
    items.push({
      id: "dnsbl-not-asked",
      severity: "info",
      title: `${unasked.length === 1 ? "1 blocklist" : `${unasked.length} blocklists`} could not be asked`,
      detail: `This report cannot say whether ${[...new Set(unasked.map((u) => u.subject))].join(" or ")} is on ${[...new Set(unasked.map((u) => u.list))].join(", ")}: ${[...new Set(unasked.map((u) => u.reason))].join("; ")}. Look the address up on the list's own page to be sure.`,
    });
  }
  return items;
}

/** Spamhaus PBL: an end-user range, not a spam report. */
function isPolicyListing(listing: BlocklistListing): boolean {
  return listing.meanings.every((m) => m.startsWith("PBL"));
}

function asked(lookup: BlocklistLookup): number {
  return lookup.listed.length + lookup.notListed.length + lookup.couldNotQuery.length;
}

function describe(listed: BlocklistListing[]): string {
  return listed.map((l) => `${l.list} (${l.meanings.join("; ")})`).join(", ");
}

function delistFix(listed: BlocklistListing[], subject: string, closeRelayFirst: boolean): AdviceFix {
  const steps = [
    ...(closeRelayFirst
      ? [
          "Close the relay first (the steps under \"This server is an open relay\"), and empty the mail queue of the spam it accepted.",
          "Run this check again: it must say \"not an open relay\" before you ask for removal.",
        ]
      : []),
    ...listed.map((l) => (l.delistUrl ? `Ask ${l.list} to remove ${subject}: ${l.delistUrl}` : `Ask ${l.list} to remove ${subject} (see the list's own site).`)),
    "Some lists remove an address on their own some hours or days after the last spam; a removal request speeds it up.",
  ];
  const docs = listed.find((l) => l.delistUrl)?.delistUrl ?? undefined;
  return { software: "Blocklists", steps, ...(docs ? { docs } : {}) };
}

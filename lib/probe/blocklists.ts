/**
 * The DNS blocklists relaycheck knows, from the data file `data/dnsbl-lists.json`, and the
 * selection of them (RELAYCHECK_DNSBLS, the CLI's --dnsbl). The file's shape and its validation
 * are in blocklist-file.ts (checked by its test, the CLI's build and every service start).
 */
import type { BlocklistDefinition } from "./blocklist-file";
import data from "./data/dnsbl-lists.json";

export type { BlocklistDefinition } from "./blocklist-file";

// Not checked here: the file was (blocklist-file.ts); it has no transforms, so the checked value
// is the file as it is.
export const BLOCKLISTS: readonly BlocklistDefinition[] = data.lists as unknown as BlocklistDefinition[];
export const DEFAULT_BLOCKLIST_ZONES: readonly string[] = BLOCKLISTS.filter((l) => l.default).map((l) => l.zone);

export class BlocklistSelectionError extends Error {
  override name = "BlocklistSelectionError";
}

/**
 * "off" → no lists; "default" → the default set; otherwise zones (comma or space separated),
 * where "default" adds the default set. An unknown zone is an error naming the known ones.
 */
export function parseBlocklistSelection(spec: string): string[] | "off" {
  const words = spec.split(/[\s,]+/).map((w) => w.trim().toLowerCase().replace(/\.$/, "")).filter(Boolean);
  if (words.length === 1 && (words[0] === "off" || words[0] === "none")) return "off";
  const zones = new Set<string>();
  for (const word of words) {
    if (word === "default") {
      DEFAULT_BLOCKLIST_ZONES.forEach((z) => zones.add(z));
      continue;
    }
    if (!BLOCKLISTS.some((l) => l.zone === word)) {
      throw new BlocklistSelectionError(`unknown blocklist zone "${word}"; known: ${BLOCKLISTS.map((l) => l.zone).join(", ")} (or "default", or "off")`);
    }
    zones.add(word);
  }
  if (zones.size === 0) throw new BlocklistSelectionError('expected blocklist zones, "default" or "off"');
  return [...zones];
}

/** The definitions of the selected zones (unset: the default set), in the data file's order. */
export function selectBlocklists(zones: readonly string[] | "off" | undefined): BlocklistDefinition[] {
  if (zones === "off") return [];
  const wanted = new Set(zones ?? DEFAULT_BLOCKLIST_ZONES);
  const unknown = [...wanted].filter((z) => !BLOCKLISTS.some((l) => l.zone === z));
  if (unknown.length) throw new BlocklistSelectionError(`unknown blocklist zone "${unknown[0]}"`);
  return BLOCKLISTS.filter((l) => wanted.has(l.zone));
}

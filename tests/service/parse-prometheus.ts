/**
 * A strict reader of Prometheus's text exposition format (what prom-client writes): `# HELP`,
 * `# TYPE` and sample lines `name{label="value",…} number`. A line that is none of these fails
 * the parse, so a scrape that is not valid text format fails the test that reads it.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family → counter | gauge | histogram | summary | untyped. */
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/** Prometheus reads these case-insensitively (Go's ParseFloat); prom-client writes NaN as "Nan". */
function number(text: string): number {
  const word = text.toLowerCase();
  if (word === "+inf" || word === "inf") return Infinity;
  if (word === "-inf") return -Infinity;
  if (word === "nan") return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a number: ${text}`);
  return n;
}

export function parsePrometheusText(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3]!)) throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
        out.types.set(meta[2]!, meta[3]!);
      } else out.help.set(meta[2]!, meta[3]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not in the text format: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`line ${i + 1}: bad labels: ${line}`);
    }
    out.samples.push({ name: m[1]!, labels, value: number(m[3]!) });
  }
  return out;
}

/** The samples of `name` whose labels include `labels`. */
export function samplesOf(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of those samples' values (0 when there are none). */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(e, name, labels).reduce((sum, s) => sum + s.value, 0);
}

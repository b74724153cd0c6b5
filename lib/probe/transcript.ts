import type { TranscriptDirection, TranscriptLine } from "./types";

/**
 * The conversation with one server, all its sessions, with caps on lines and bytes: past them
 * lines are counted, not kept, so a chatty server costs bounded memory.
 */
export class Transcript {
  readonly lines: TranscriptLine[] = [];
  private bytes = 0;
  dropped = 0;

  constructor(
    private readonly startedAt: number,
    private readonly maxLines: number,
    private readonly maxBytes: number,
  ) {}

  now(): number {
    return Math.round((performance.now() - this.startedAt) * 100) / 100;
  }

  add(session: number, dir: TranscriptDirection, line: string): void {
    if (this.lines.length >= this.maxLines || this.bytes + line.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.bytes += line.length;
    this.lines.push({ session, t: this.now(), dir, line });
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }
}

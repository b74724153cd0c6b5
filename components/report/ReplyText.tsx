import type { SmtpReply } from "@/lib/probe/types";
import { visible } from "./visible";

/** An SMTP reply as text: code, enhanced code, then the server's words (made visible). */
export function ReplyText({ reply }: { reply: Pick<SmtpReply, "code" | "enhanced" | "text"> }) {
  return (
    <span className="reply">
      <strong>{reply.code}</strong>
      {reply.enhanced ? ` ${reply.enhanced}` : ""} {visible(reply.text)}
    </span>
  );
}

import type { DeliveryProof } from "@/lib/probe/types";

const STATUS_TEXT: Record<DeliveryProof["status"], string> = {
  delivered: "Delivered: proven open relay",
  sent: "Sent: waiting for delivery",
  "not-delivered": "Not delivered within the wait",
  "not-sent": "Not sent",
};

/**
 * A server's proof by delivery (issue 12): the one message relaycheck sent through it, to its own
 * mailbox, and what arrived: the envelope, the connecting address and the Received chain. All of
 * it server text, shown as text.
 */
export function ProofOfDelivery({ proof }: { proof: DeliveryProof }) {
  return (
    <div className="space-y-2" data-proof={proof.status}>
      <h3 className="text-lg font-bold">Proof by delivery</h3>
      <p className={proof.status === "delivered" ? "font-semibold text-danger" : "font-semibold"}>
        {STATUS_TEXT[proof.status]} — {proof.detail}
      </p>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-muted">Sent as</dt>
        <dd className="font-mono break-all">
          MAIL FROM:&lt;{proof.mailFrom}&gt; RCPT TO:&lt;{proof.rcptTo}&gt;
        </dd>
        {proof.reply ? (
          <>
            <dt className="text-muted">Server&apos;s answer</dt>
            <dd className="font-mono break-all">
              {`${proof.reply.code} ${proof.reply.enhanced ?? ""} ${proof.reply.text}`.replace(/\s+/g, " ")}
            </dd>
          </>
        ) : null}
        {proof.arrival ? (
          <>
            <dt className="text-muted">Arrived</dt>
            <dd>
              {proof.arrival.at} from <span className="font-mono">{proof.arrival.remoteAddress}</span>
              {proof.arrival.heloName ? (
                <>
                  {" "}
                  (<span className="font-mono">{proof.arrival.heloName}</span>)
                </>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
      {proof.arrival && proof.arrival.received.length ? (
        <div>
          <p className="text-sm text-muted">Received lines of the message, last hop first:</p>
          <ol className="list-decimal space-y-1 pl-5 font-mono text-sm break-all" data-received>
            {proof.arrival.received.map((r, i) => (
              <li key={i}>Received: {r}</li>
            ))}
          </ol>
        </div>
      ) : null}
      {proof.status === "delivered" || proof.status === "sent" ? null : (
        <p className="text-sm text-muted">A message that does not arrive proves nothing on its own: mail queues retry for days. The verdict stays as the RCPT replies showed.</p>
      )}
    </div>
  );
}

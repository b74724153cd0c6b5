import { CheckForm } from "@/components/form/CheckForm";
import { getEnv } from "@/lib/env";

interface Props {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export default async function Home({ searchParams }: Props) {
  const q = await searchParams;
  const error = one(q.error)?.slice(0, 300);
  const target = one(q.target)?.slice(0, 255);
  const env = getEnv();
  const proof = env.RELAYCHECK_SINK_DOMAIN ? env.RELAYCHECK_DELIVERY_PROOF : "off";
  return (
    <div className="grid gap-8 lg:grid-cols-[3fr_2fr]">
      <div className="space-y-6">
        <div className="space-y-2">
          <h1 className="text-3xl font-bold sm:text-4xl">Is your mail server an open relay?</h1>
          <p className="text-lg text-muted">
            relaycheck talks to your server the way a spammer would and shows you, line by line, whether it would pass mail on for strangers.
          </p>
        </div>
        <section aria-label="Start a check" className="card p-4 sm:p-6">
          <CheckForm initialTarget={target} initialError={error} offerProof={proof === "everyone"} />
        </section>
        <section aria-labelledby="does-h" className="space-y-2">
          <h2 id="does-h" className="text-xl font-bold">What the check does</h2>
          <ol className="list-decimal space-y-1 pl-5">
            <li>Finds the mail servers of a domain (its MX records) or takes the host or address you gave.</li>
            <li>Connects to each one on the ports you chose, reads its greeting and capabilities, and switches to TLS when offered.</li>
            <li>Asks it, a dozen ways, to accept a message from an outsider for an outside address: a plain request, a blank sender, a forged sender from its own domain, and old address tricks such as <code className="font-mono">user%other.example@server</code>.</li>
            <li>Records every reply and tells you which requests it accepted, what that means, and how to fix it for the software it runs.</li>
          </ol>
          <p>
            <strong>No mail is sent.</strong> Each test stops after the server answers the recipient (<code className="font-mono">RCPT TO</code>); we never send <code className="font-mono">DATA</code>, so nothing can be delivered. The recipient domain is a reserved name that no one can own.
          </p>
          <p id="proof-by-delivery">
            <strong>Proof by delivery</strong> is the one exception, and only on request: where a server accepted a relay test, relaycheck sends it exactly one short, harmless message addressed to relaycheck&apos;s own mailbox, and reports whether it arrives. That settles what the replies alone cannot (a server that takes any address at its own domain).{" "}
            {proof === "everyone"
              ? "Tick the box below the ports to ask for it."
              : proof === "api-key"
                ? "It is offered to operators with an API key, not anonymously: it makes a stranger's server carry a real message, so we want to know who asked for it, and keep a daily limit per server."
                : "This service does not offer it."}
          </p>
          <p className="text-muted">
            What it does not do: it does not log in, guess passwords, scan other ports or test your spam filter. Every report gets an unlisted link that you can share; there is no public list of results.
          </p>
        </section>
      </div>
      <aside aria-labelledby="why-h" className="space-y-3 text-base">
        <h2 id="why-h" className="text-xl font-bold">Relaying, open relays, and why they matter</h2>
        <p>
          Mail hops between servers. When your server takes a message and passes it on to a server somewhere else, it <em>relays</em> it. That is its job for your own users, once they have logged in, and for mail arriving for your own domains.
        </p>
        <p>
          An <strong>open relay</strong> passes mail on for anyone, to anywhere, with no login. Spammers scan the internet for such servers because they let them send in bulk from an address that is not theirs.
        </p>
        <p>
          Once that happens, your server&apos;s address soon lands on <strong>blocklists</strong>, and other providers start refusing <em>all</em> mail from it, including your own users&apos; ordinary mail. Getting delisted can take days.
        </p>
        <p>
          The opposite mistake is common too: a server so locked down that it turns away mail for its own domain. The report shows both.
        </p>
      </aside>
    </div>
  );
}

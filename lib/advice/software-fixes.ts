/**
 * What to change, per server software. Setting names, file names and commands are exact (checked
 * against each project's documentation); example values (addresses, host names) use the
 * documentation ranges and example.com.
 */
import type { AdviceFix, SoftwareName } from "./types";

type FixKey = SoftwareName | "generic";
type FixTable = Partial<Record<FixKey, AdviceFix>> & { generic: AdviceFix };

/** Picks the fix for the detected software, or the generic one. */
export function fixFor(table: FixTable, software: SoftwareName | null): AdviceFix {
  return (software && table[software]) || table.generic;
}

// ---------------------------------------------------------------------------------------------
// Closing an open relay

export const CLOSE_RELAY: FixTable = {
  postfix: {
    software: "Postfix",
    steps: [
      "Show the settings in force: `postconf -n | grep -E 'relay|mynetworks|recipient_restrictions'` and look for per-service overrides (`-o smtpd_relay_restrictions=…`, `-o smtpd_recipient_restrictions=…`) in /etc/postfix/master.cf.",
      "In /etc/postfix/main.cf set `smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination` (Postfix 2.10 and later; switch to `reject_unauth_destination` once you have checked your own users still get through). On older versions put `reject_unauth_destination` in `smtpd_recipient_restrictions`, right after `permit_sasl_authenticated`.",
      "Make sure nothing permits before that check: no bare `permit`, and no `check_client_access`, `check_sender_access` or `check_recipient_access` table that answers OK for outside addresses.",
      "Limit `mynetworks` to machines you run, e.g. `mynetworks = 127.0.0.0/8 [::1]/128` (or `mynetworks_style = host`); never 0.0.0.0/0 or your provider's whole range.",
      "Keep `relay_domains` to the domains you really relay for (empty unless you are a backup MX).",
      "Run `postfix check && postfix reload`, then check again.",
    ],
    docs: "https://www.postfix.org/SMTPD_ACCESS_README.html",
  },
  exim: {
    software: "Exim",
    steps: [
      "In the main section, keep the lists tight: `domainlist local_domains = @ : example.com`, `domainlist relay_to_domains =` (empty unless you are a backup MX) and `hostlist relay_from_hosts = localhost` (add only machines you run; never 0.0.0.0/0).",
      "In `acl_check_rcpt`, keep the default order: `accept hosts = +relay_from_hosts`, `accept authenticated = *`, then `require message = relay not permitted` with `domains = +local_domains : +relay_to_domains`, then `require verify = recipient`. Remove any `accept` above these lines that has no condition, or a condition outsiders can meet.",
      "On Debian and Ubuntu the lists come from `dc_relay_nets` and `dc_relay_domains` in /etc/exim4/update-exim4.conf.conf: fix them there, then run `update-exim4.conf`.",
      "Test as an outsider would be seen: `exim -bh 192.0.2.1`, then MAIL FROM / RCPT TO to a foreign domain must be refused.",
      "Restart Exim (`systemctl restart exim4` on Debian/Ubuntu, `systemctl restart exim` elsewhere), then check again.",
    ],
    docs: "https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html",
  },
  sendmail: {
    software: "Sendmail",
    steps: [
      "In sendmail.mc remove FEATURE(`promiscuous_relay') (it relays for everybody), and also FEATURE(`relay_based_on_MX'), FEATURE(`loose_relay_check'), FEATURE(`relay_local_from') and FEATURE(`relay_mail_from'), which let outsiders relay with forged or tricky addresses.",
      "In /etc/mail/access keep RELAY only for your own hosts and networks (e.g. `Connect:192.0.2.10 RELAY`), then rebuild it: `makemap hash /etc/mail/access < /etc/mail/access`.",
      "Check /etc/mail/relay-domains: it must list only your own domains and networks, never a top-level domain.",
      "Rebuild the configuration (`m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf`, or `make -C /etc/mail`), restart sendmail, then check again.",
    ],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: [
      "In the Exchange Management Shell, find receive connectors that let anonymous senders relay: `Get-ReceiveConnector | Get-ADPermission | Where-Object { $_.ExtendedRights -like \"ms-Exch-SMTP-Accept-Any-Recipient\" } | Format-Table Identity,User,ExtendedRights` — look for `NT AUTHORITY\\ANONYMOUS LOGON`.",
      "Take the right away from anonymous users on each such connector: `Get-ReceiveConnector \"<Server>\\<Connector>\" | Remove-ADPermission -User \"NT AUTHORITY\\ANONYMOUS LOGON\" -ExtendedRights \"Ms-Exch-SMTP-Accept-Any-Recipient\"`.",
      "If an application or device must relay without a password, give it its own receive connector limited to its address: `Set-ReceiveConnector \"<Server>\\<Connector>\" -RemoteIPRanges 192.0.2.25`.",
      "Check accepted domains with `Get-AcceptedDomain | Format-Table Name,DomainName,DomainType`: remove any `*` (wildcard) domain of type InternalRelay or ExternalRelay.",
      "On Windows' own SMTP service (IIS, greeting \"Microsoft ESMTP MAIL Service, Version: …\"): IIS 6.0 Manager → SMTP Virtual Server → Properties → Access → Relay → \"Only the list below\", with only your own servers listed.",
      "Check again.",
    ],
    docs: "https://learn.microsoft.com/en-us/exchange/mail-flow/connectors/allow-anonymous-relay",
  },
  "microsoft-365": {
    software: "Microsoft 365 (Exchange Online)",
    steps: [
      "Microsoft 365 itself does not relay for strangers; an accepted relay usually comes from an inbound connector of your organisation (for example one set up for a printer or an on-premises server).",
      "In the Exchange admin center, open Mail flow → Connectors and review every connector from \"Your organization's email server\": it should identify your servers by their certificate or by a short list of your own IP addresses.",
      "Check again.",
    ],
  },
  google: {
    software: "Google Workspace",
    steps: [
      "Google's servers do not relay for strangers; an accepted relay usually comes from the SMTP relay service of your Workspace account.",
      "In the Google Admin console, open Apps → Google Workspace → Gmail → Routing → SMTP relay service and restrict it: only addresses in your domains, only accept mail from the specified IP addresses (your own), and require SMTP authentication where you can.",
      "Check again.",
    ],
  },
  opensmtpd: {
    software: "OpenSMTPD",
    steps: [
      "In smtpd.conf look for a rule such as `match from any for any action \"outbound\"`: it relays for anybody on the Internet.",
      "Replace it with rules that relay only for your own machines and for users who logged in: `match from local for any action \"outbound\"` and `match auth from any for any action \"outbound\"`.",
      "Mail from the Internet should match only your own domains, e.g. `match from any for domain <domains> action \"local\"`.",
      "Check the file with `smtpd -n`, restart smtpd (`rcctl restart smtpd` on OpenBSD), then check again.",
    ],
    docs: "https://man.openbsd.org/smtpd.conf.5",
  },
  haraka: {
    software: "Haraka",
    steps: [
      "In config/relay.ini keep `all=false` under `[relay]`: `all=true` makes Haraka an open relay.",
      "With `acl=true`, config/relay_acl_allow must list only your own networks (CIDR, one per line), never 0.0.0.0/0.",
      "With `dest_domains=true`, config/relay_dest_domains.ini may give \"accept\" or \"continue\" only to domains you host or relay for.",
      "Let users relay through SMTP AUTH over TLS (the tls plugin and an auth plugin) instead of by address.",
      "Restart Haraka, then check again.",
    ],
    docs: "https://haraka.github.io/plugins/relay",
  },
  qmail: {
    software: "qmail",
    steps: [
      "Make sure /var/qmail/control/rcpthosts exists and lists only your own domains (plus morercpthosts.cdb if you use it): without rcpthosts, qmail-smtpd accepts every recipient.",
      "In the tcpserver rules (often /etc/tcp.smtp) give `RELAYCLIENT=\"\"` only to your own hosts, e.g. `127.:allow,RELAYCLIENT=\"\"`; never to every address.",
      "Rebuild the rules: `tcprules /etc/tcp.smtp.cdb /etc/tcp.smtp.tmp < /etc/tcp.smtp`, restart qmail-smtpd, then check again.",
    ],
  },
  hmailserver: {
    software: "hMailServer",
    steps: [
      "In hMailServer Administrator open Settings → Advanced → IP Ranges.",
      "For the \"Internet\" range (and any other range that covers outside addresses) untick \"External to external\" under Allow deliveries, and tick the SMTP authentication boxes for deliveries to external addresses.",
      "Only ranges that contain your own machines may allow external-to-external deliveries; save, then check again.",
    ],
  },
  mailenable: {
    software: "MailEnable",
    steps: [
      "In the MailEnable administration program open Servers → Localhost → Connectors, right-click SMTP → Properties → Relay.",
      "Keep \"Allow relay for authenticated senders\" and untick \"Allow relay for local sender addresses\"; allow relay by IP address only for your own machines.",
      "Apply, then check again.",
    ],
    docs: "http://www.mailenable.com/documentation/10.0/Enterprise/SMTP_props_-_Relay.html",
  },
  generic: {
    software: "Any mail server",
    steps: [
      "Allow relaying (mail to other domains) only to users who log in (SMTP AUTH, on port 587 or 465) and to machines you run.",
      "From the rest of the Internet accept mail only for the domains you host.",
      "Look in the server's settings for \"relay\", \"trusted networks\", \"allowed IP ranges\" or \"connectors\": none may cover every address (0.0.0.0/0, \"all\", \"any\").",
      "If a filtering gateway or anti-spam appliance answers on port 25, the setting is on that device.",
      "Check again after the change.",
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Address tricks and sender-based relaying

export const CLOSE_ADDRESS_TRICKS: FixTable = {
  postfix: {
    software: "Postfix",
    steps: [
      "Postfix's relay check (`reject_unauth_destination`) sees through these forms, so an accept means something permits the mail before it: look in `postconf -n` for a bare `permit`, a too wide `mynetworks` or an access table answering OK ahead of `reject_unauth_destination` in `smtpd_relay_restrictions` and `smtpd_recipient_restrictions`.",
      "In /etc/postfix/main.cf turn the old address forms off: `allow_percent_hack = no`, `swap_bangpath = no` and `allow_untrusted_routing = no` (the last is the default: make sure nothing sets it to yes), and keep the default `resolve_dequoted_address = yes`.",
      "Run `postfix reload`.",
    ],
    docs: "https://www.postfix.org/postconf.5.html#allow_untrusted_routing",
  },
  exim: {
    software: "Exim",
    steps: [
      "Leave `percent_hack_domains` unset (or list only your own domains).",
      "Keep the default statement near the top of `acl_check_rcpt`: `deny message = Restricted characters in address`, `domains = !+local_domains`, `local_parts = ^[./|] : ^.*[@%!] : ^.*/\\\\.\\\\./`.",
      "Restart Exim.",
    ],
    docs: "https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html",
  },
  sendmail: {
    software: "Sendmail",
    steps: [
      "Remove FEATURE(`loose_relay_check') (it allows percent-hack relaying).",
      "To refuse bang paths from outsiders add FEATURE(`nouucp', `reject').",
      "Rebuild sendmail.cf and restart sendmail.",
    ],
  },
  qmail: {
    software: "qmail",
    steps: ["Delete /var/qmail/control/percenthack, or list only your own domains in it."],
  },
  generic: {
    software: "Any mail server",
    steps: [
      "Turn off old routing forms (percent hack, UUCP bang paths, source routes) if the server has such settings.",
      "Make the relay decision on the final destination of the address, after any rewriting, and refuse every form that leads outside your domains.",
    ],
  },
};

/**
 * One step that turns the old address forms off, for the open-relay fix of a server that also
 * fell for them (the relay fix alone closes them, this makes sure they stay closed).
 */
export const TRICK_SETTINGS: Partial<Record<SoftwareName, string>> = {
  postfix: "It also fell for old address tricks: in main.cf set `allow_percent_hack = no`, `swap_bangpath = no` and `allow_untrusted_routing = no` as well.",
  exim: "It also fell for old address tricks: leave `percent_hack_domains` unset and keep the `Restricted characters in address` statement in `acl_check_rcpt`.",
  sendmail: "It also fell for old address tricks: remove FEATURE(`loose_relay_check') and add FEATURE(`nouucp', `reject').",
  qmail: "It also fell for old address tricks: delete /var/qmail/control/percenthack.",
};

export const STOP_SENDER_TRUST: FixTable = {
  postfix: {
    software: "Postfix",
    steps: [
      "Never grant relaying by sender address: remove `check_sender_access` tables answering OK (and `permit_sender_*`-style rules) placed before `reject_unauth_destination`.",
      "Users who need to relay must log in (`permit_sasl_authenticated`).",
    ],
  },
  exim: {
    software: "Exim",
    steps: [
      "In `acl_check_rcpt` remove `accept` statements that only test `senders =` or `sender_domains =`: anyone can forge a sender.",
      "Users who need to relay must log in (`accept authenticated = *`).",
    ],
  },
  sendmail: {
    software: "Sendmail",
    steps: [
      "Remove FEATURE(`relay_local_from') and FEATURE(`relay_mail_from'): they relay on the strength of a forgeable MAIL FROM.",
      "Remove `From:` entries with RELAY from /etc/mail/access, rebuild it with makemap, rebuild sendmail.cf, restart sendmail.",
    ],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: [
      "Anonymous sessions must not hold `Ms-Exch-SMTP-Accept-Any-Recipient` on any internet-facing connector (`Get-ReceiveConnector | Get-ADPermission` lists who does); the sender address must never be what grants relaying.",
    ],
  },
  haraka: {
    software: "Haraka",
    steps: [
      "rcpt_to.in_host_list vouches for any recipient once a connection is marked as relaying and the sender is local: make sure only authenticated users and relay_acl_allow networks are marked as relaying.",
      "Consider `host_list.anti_spoof` to refuse your own domains as sender from outsiders.",
    ],
  },
  generic: {
    software: "Any mail server",
    steps: [
      "Never allow relaying because of the sender address (MAIL FROM): anyone can write any sender, including your own domain or an empty one.",
      "Allow relaying by login (SMTP AUTH) or by the connecting machine's address only.",
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Other findings

export const AUTH_ONLY_WITH_TLS: FixTable = {
  postfix: {
    software: "Postfix",
    steps: ["In main.cf set `smtpd_tls_auth_only = yes`, then `postfix reload`."],
    docs: "https://www.postfix.org/postconf.5.html#smtpd_tls_auth_only",
  },
  exim: {
    software: "Exim",
    steps: [
      "In the main section set `auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}` (on Exim older than 4.80 the variable is `$tls_cipher`).",
      "Restart Exim.",
    ],
  },
  sendmail: {
    software: "Sendmail",
    steps: ["In sendmail.mc add define(`confAUTH_OPTIONS', `p')dnl (no plain-text mechanisms without TLS), rebuild sendmail.cf, restart sendmail."],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: [
      "Require TLS for basic authentication on the connector: `Set-ReceiveConnector \"<Server>\\<Connector>\" -AuthMechanism Tls,BasicAuth,BasicAuthRequireTLS` (keep any other mechanisms the connector already has, such as Integrated or ExchangeServer).",
    ],
  },
  generic: {
    software: "Any mail server",
    steps: ["Offer AUTH only after STARTTLS (or only on port 465 with implicit TLS), so passwords never cross the network in clear text."],
  },
};

export const ENABLE_STARTTLS: FixTable = {
  postfix: {
    software: "Postfix",
    steps: [
      "In main.cf set `smtpd_tls_cert_file` and `smtpd_tls_key_file` (certificate with its chain, and key) and `smtpd_tls_security_level = may`; then `postfix reload`.",
    ],
    docs: "https://www.postfix.org/TLS_README.html",
  },
  exim: {
    software: "Exim",
    steps: [
      "In the main section set `tls_certificate`, `tls_privatekey` and `tls_advertise_hosts = *` (on Debian: `MAIN_TLS_ENABLE = yes` in the exim4 configuration); restart Exim.",
    ],
  },
  sendmail: {
    software: "Sendmail",
    steps: [
      "In sendmail.mc define `confSERVER_CERT`, `confSERVER_KEY`, `confCACERT` and `confCACERT_PATH`, rebuild sendmail.cf and restart sendmail.",
    ],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: ["Assign a certificate for the server's name to SMTP: `Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP`."],
  },
  opensmtpd: {
    software: "OpenSMTPD",
    steps: [
      "Declare the certificate: `pki mail.example.com cert \"/etc/ssl/mail.example.com.crt\"` and `pki mail.example.com key \"/etc/ssl/private/mail.example.com.key\"`.",
      "Offer STARTTLS on the listener: `listen on egress tls pki mail.example.com`; restart smtpd.",
    ],
    docs: "https://man.openbsd.org/smtpd.conf.5",
  },
  haraka: {
    software: "Haraka",
    steps: ["Add `tls` to config/plugins and put the key and certificate in config/tls_key.pem and config/tls_cert.pem; restart Haraka."],
    docs: "https://haraka.github.io/plugins/tls",
  },
  generic: {
    software: "Any mail server",
    steps: ["Install a certificate for the server's host name (Let's Encrypt works) and enable STARTTLS on ports 25 and 587."],
  },
};

export const MODERN_TLS: FixTable = {
  postfix: {
    software: "Postfix",
    steps: [
      "Postfix 3.6 and later: `smtpd_tls_mandatory_protocols = >=TLSv1.2` (and `smtpd_tls_protocols = >=TLSv1.2` if you accept that old senders fall back to plain text). Older versions: `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`. Then `postfix reload`.",
    ],
  },
  exim: {
    software: "Exim",
    steps: [
      "With OpenSSL: `openssl_options = +no_sslv3 +no_tlsv1 +no_tlsv1_1`; with GnuTLS: `tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1`. Restart Exim.",
    ],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: ["Disable TLS 1.0 and 1.1 in Windows (SChannel) as described in Microsoft's Exchange Server TLS configuration guidance, then restart the server."],
  },
  generic: {
    software: "Any mail server",
    steps: ["Allow TLS 1.2 and 1.3 only, and update the TLS library if the server cannot do TLS 1.2."],
  },
};

export const FIX_CERTIFICATE: FixTable = {
  generic: {
    software: "Any mail server",
    steps: [
      "Get a certificate from a public CA for the name the server is reached by (the MX host name), e.g. from Let's Encrypt, with automatic renewal.",
      "Install it with its intermediate certificates, and reload the mail server after each renewal.",
    ],
  },
};

export const SET_HOSTNAME: FixTable = {
  postfix: {
    software: "Postfix",
    steps: ["Set `myhostname = mail.example.com` in main.cf (the greeting uses it through `smtpd_banner`), then `postfix reload`."],
  },
  exim: {
    software: "Exim",
    steps: ["Set `primary_hostname = mail.example.com` in the main section (`smtp_banner` uses it), then restart Exim."],
  },
  sendmail: {
    software: "Sendmail",
    steps: ["Add define(`confDOMAIN_NAME', `mail.example.com')dnl to sendmail.mc, rebuild sendmail.cf and restart sendmail."],
  },
  exchange: {
    software: "Microsoft Exchange",
    steps: ["Set the connector's name: `Set-ReceiveConnector \"<Server>\\<Connector>\" -Fqdn mail.example.com`."],
  },
  opensmtpd: {
    software: "OpenSMTPD",
    steps: ["Add `hostname mail.example.com` to the `listen on` line of smtpd.conf, then restart smtpd."],
  },
  haraka: {
    software: "Haraka",
    steps: ["Write the full host name into config/me, then restart Haraka."],
  },
  qmail: {
    software: "qmail",
    steps: ["Write the full host name into /var/qmail/control/me (and control/smtpgreeting if you use it)."],
  },
  generic: {
    software: "Any mail server",
    steps: ["Make the server introduce itself with its full host name (e.g. mail.example.com), the same name its address's PTR record gives."],
  },
};

export const SET_PTR: AdviceFix = {
  software: "DNS (reverse zone)",
  steps: [
    "Ask whoever owns the IP address (your hosting company or internet provider; often a \"reverse DNS\" field in their control panel) to set its PTR record to the server's name, e.g. mail.example.com.",
    "Make sure that name has an A (or AAAA) record pointing back to the same address, and that the server greets with that name.",
  ],
};

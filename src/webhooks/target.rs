//! Where a webhook may go: the checks against server-side request forgery.
//!
//! A delivery is a request the service makes to an address a partner chose, from inside
//! the hosting network: it must never reach the service's own machine, its database, the
//! hosting network or the cloud's metadata service. So, unless
//! `PASSERELLE_WEBHOOKS_ALLOW_PRIVATE=true` (development and tests, which receive on
//! loopback over plain HTTP):
//! - only `https` URLs, without user name or password;
//! - no address of the ranges in [`forbidden_range`] (IANA's special-purpose registries:
//!   loopback, private, shared, link-local with the metadata services, unique-local,
//!   multicast, documentation, reserved), checked on the URL's literal address and on
//!   every address its host resolves to: at creation (422 `forbidden_address`) and at each
//!   delivery ([`GuardedResolver`]: the connection goes to an address this check passed,
//!   so a host re-pointed after creation (DNS rebinding) is still refused);
//! - redirects are not followed (`worker`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Special-purpose ranges no webhook reaches, with what they are.
const FORBIDDEN_RANGES: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("10.0.0.0/8", "private"),
    (
        "100.64.0.0/10",
        "shared (carrier-grade NAT, some clouds' metadata)",
    ),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata services)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    // Deprecated forms carrying an IPv4 address, which some stacks still route to it.
    ("::/96", "IPv4-compatible (deprecated)"),
    ("::ffff:0:0:0/96", "IPv4-translated (SIIT)"),
    ("64:ff9b:1::/48", "local NAT64"),
    ("100::/64", "discard"),
    // Teredo (2001::/32) is inside it: a tunnel to an IPv4 address.
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4 (a tunnel to an IPv4 address)"),
    ("fc00::/7", "unique-local (private, some clouds' metadata)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
];

fn ranges() -> &'static [(IpNet, &'static str)] {
    static RANGES: OnceLock<Vec<(IpNet, &'static str)>> = OnceLock::new();
    RANGES.get_or_init(|| {
        FORBIDDEN_RANGES
            .iter()
            .map(|(net, what)| (net.parse().expect("a valid range"), *what))
            .collect()
    })
}

/// The forbidden range `ip` falls in, as words; `None` for a public address.
///
/// Every IPv6 form that carries an IPv4 address is judged by that address, or refused as a
/// form: mapped (`::ffff:a.b.c.d`, which the system connects to over IPv4) and NAT64
/// (`64:ff9b::a.b.c.d`, which a gateway translates to it) by the IPv4 address alone;
/// an ISATAP interface identifier (`…:5efe:a.b.c.d`, a tunnel to that address) by the
/// IPv4 address and then the IPv6 one; IPv4-compatible (`::a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), 6to4 (`2002::/16`) and Teredo (`2001::/32`) are refused as forms.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    let v6 = match ip {
        IpAddr::V4(v4) => return in_ranges(IpAddr::V4(v4)),
        IpAddr::V6(v6) => v6,
    };
    match embedded_v4(v6) {
        Some(Embedded::Replaces(v4)) => in_ranges(IpAddr::V4(v4)),
        Some(Embedded::Tunnel(v4)) => {
            in_ranges(IpAddr::V4(v4)).or_else(|| in_ranges(IpAddr::V6(v6)))
        }
        None => in_ranges(IpAddr::V6(v6)),
    }
}

fn in_ranges(ip: IpAddr) -> Option<&'static str> {
    ranges()
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, what)| *what)
}

/// An IPv4 address an IPv6 one carries.
enum Embedded {
    /// The connection goes to the IPv4 address (mapped, NAT64).
    Replaces(Ipv4Addr),
    /// The IPv6 address is reached through a tunnel to the IPv4 one (ISATAP).
    Tunnel(Ipv4Addr),
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Embedded> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(Embedded::Replaces(v4));
    }
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let nat64: ipnet::Ipv6Net = "64:ff9b::/96".parse().expect("a valid range");
    if nat64.contains(&v6) {
        return Some(Embedded::Replaces(last));
    }
    // ISATAP (RFC 5214): an interface identifier of 0000:5efe or 0200:5efe (the
    // universal/local bit either way), then the IPv4 address.
    let s = v6.segments();
    if (s[4] & 0xfdff) == 0 && s[5] == 0x5efe {
        return Some(Embedded::Tunnel(last));
    }
    None
}

/// Why a URL is refused: a field rule's code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

fn forbidden_address(ip: IpAddr, what: &str) -> Refusal {
    Refusal::new(
        "forbidden_address",
        format!(
            "{ip} is in a special-purpose range ({what}): webhooks go to public addresses only"
        ),
    )
}

/// The URL's form: absolute, `https` (or `http` when private targets are allowed), with a
/// host and without credentials; a literal address must be public.
pub fn check_form(url: &str, allow_private: bool) -> Result<Url, Refusal> {
    let parsed = Url::parse(url)
        .map_err(|e| Refusal::new("invalid_url", format!("not an absolute URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => {
            return Err(Refusal::new(
                "https_required",
                "webhooks are sent over https only",
            ))
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::new(
            "credentials_in_url",
            "a URL carries no user name or password: verify each delivery's signature instead",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(Refusal::new(
            "invalid_url",
            "a URL with a fragment (#…): the fragment is never sent",
        ));
    }
    match parsed.host() {
        None => return Err(Refusal::new("invalid_url", "the URL has no host")),
        Some(url::Host::Ipv4(ip)) if !allow_private => {
            if let Some(what) = forbidden_range(IpAddr::V4(ip)) {
                return Err(forbidden_address(IpAddr::V4(ip), what));
            }
        }
        Some(url::Host::Ipv6(ip)) if !allow_private => {
            if let Some(what) = forbidden_range(IpAddr::V6(ip)) {
                return Err(forbidden_address(IpAddr::V6(ip), what));
            }
        }
        Some(_) => {}
    }
    Ok(parsed)
}

/// How long the check at creation waits for the host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The check at creation and change: [`check_form`], then every address the host resolves
/// to must be public (a host that does not resolve is refused: a delivery could not reach
/// it either). Gives the URL as it is used (normalised), to store and show.
pub async fn check(url: &str, allow_private: bool) -> Result<String, Refusal> {
    let parsed = check_form(url, allow_private)?;
    if allow_private {
        return Ok(parsed.into());
    }
    let Some(url::Host::Domain(host)) = parsed.host() else {
        return Ok(parsed.into());
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| {
            Refusal::new(
                "unresolvable_host",
                format!("{host} did not resolve within 5 seconds"),
            )
        })?
        .map_err(|_| Refusal::new("unresolvable_host", format!("{host} does not resolve")))?;
    for addr in addrs {
        if let Some(what) = forbidden_range(addr.ip()) {
            return Err(Refusal::new(
                "forbidden_address",
                format!(
                    "{host} resolves to {}, in a special-purpose range ({what}): webhooks go to public \
                     addresses only",
                    addr.ip()
                ),
            ));
        }
    }
    Ok(parsed.into())
}

/// A delivery refused because its host resolved to no public address.
#[derive(Debug)]
pub struct ForbiddenAddress(pub String);

impl std::fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ForbiddenAddress {}

/// A host name that did not resolve.
#[derive(Debug)]
pub struct Unresolvable(pub String);

impl std::fmt::Display for Unresolvable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unresolvable {}

/// The HTTP client's resolver: the system's, keeping only public addresses (all of them
/// when private targets are allowed). The client then connects to one of those, never to
/// an address resolved again later.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Unresolvable(format!("{host} does not resolve")))?
                .collect();
            if allow_private {
                return Ok(Box::new(resolved.into_iter()) as Addrs);
            }
            let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|a| forbidden_range(a.ip()).is_none());
            if public.is_empty() {
                let detail = match refused.first() {
                    Some(a) => format!(
                        "{host} resolves to {}, in a special-purpose range ({}): webhooks go to public \
                         addresses only",
                        a.ip(),
                        forbidden_range(a.ip()).unwrap_or("non-public")
                    ),
                    None => format!("{host} resolves to no address"),
                };
                return Err(Box::new(ForbiddenAddress(detail)) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_special_address_is_forbidden_and_public_ones_pass() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
            // Every IPv6 form of an IPv4 address (issue 20: `::127.0.0.1` and
            // `::ffff:0:127.0.0.1` were registered).
            "::127.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:7f00:1",
            "::8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.1.2.3",
            "64:ff9b:1::8.8.8.8",
            "2a00:1450::5efe:127.0.0.1",
            "2a00:1450::200:5efe:10.0.0.1",
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:7f00:1::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(forbidden_range(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "2a00:1450:4007:80c::200e",
            "::ffff:93.184.215.14",
            "64:ff9b::93.184.215.14",
            "2a00:1450::5efe:93.184.215.14",
        ] {
            assert!(forbidden_range(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }

    #[test]
    fn the_form_of_a_url() {
        let code = |u: &str, allow: bool| check_form(u, allow).err().map(|r| r.code);
        assert_eq!(code("https://hooks.example.org/x", false), None);
        assert_eq!(
            code("http://hooks.example.org/x", false),
            Some("https_required")
        );
        assert_eq!(code("http://127.0.0.1:9000/x", true), None);
        assert_eq!(
            code("ftp://hooks.example.org/x", true),
            Some("https_required")
        );
        assert_eq!(code("hooks.example.org/x", false), Some("invalid_url"));
        assert_eq!(
            code("https://u:p@hooks.example.org/", false),
            Some("credentials_in_url")
        );
        assert_eq!(code("https://127.0.0.1/", false), Some("forbidden_address"));
        assert_eq!(code("https://[::1]/", false), Some("forbidden_address"));
        assert_eq!(
            code("https://169.254.169.254/latest", false),
            Some("forbidden_address")
        );
        assert_eq!(
            code("https://[::ffff:a9fe:a9fe]/", false),
            Some("forbidden_address")
        );
        for form in [
            "https://[::127.0.0.1]/",
            "https://[::ffff:0:127.0.0.1]/",
            "https://[64:ff9b::127.0.0.1]/",
            "https://[2a00:1450::5efe:127.0.0.1]/",
            "https://[2002:7f00:1::1]/",
        ] {
            assert_eq!(code(form, false), Some("forbidden_address"), "{form}");
        }
    }
}

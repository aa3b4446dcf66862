//! Which client a request comes from, and the key the sign-in throttle counts it under.
//!
//! The peer address is the client unless it is one of `LOCKBOX_TRUSTED_PROXIES`: only then is
//! `X-Forwarded-For` believed, read from the right (each proxy appends the address it saw), and
//! the first address that is not a trusted proxy is the client. Anything left of it could be
//! made up by the client. IPv4-mapped IPv6 addresses are the IPv4 address they carry; an IPv6
//! client is keyed by its /64, since one host can use any address of its network.

use ipnet::{IpNet, Ipv6Net};
use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

/// The proxies whose `X-Forwarded-For` is believed (`LOCKBOX_TRUSTED_PROXIES`, comma-separated
/// CIDRs or single addresses). Empty by default: the header is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{part:?} is not a CIDR (like 10.0.0.0/8) or an address"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// The client of a request that came from `peer` with these `X-Forwarded-For` header values (in
/// the order received).
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.contains(client) {
        return client;
    }
    let entries: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .collect();
    for entry in entries.into_iter().rev() {
        // An entry we cannot read could be anything: the last trusted hop is all we know.
        let Some(ip) = parse_entry(entry) else {
            return client;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// The client of a request, from its connection and headers.
pub fn from_request(
    peer: Option<SocketAddr>,
    headers: &http::HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    peer.map(|p| client_ip(p.ip(), forwarded, trusted))
}

/// What the sign-in throttle counts a client under: an IPv4 address as it is, an IPv6 address
/// by its /64 network. Text that is not an address is its own key.
pub fn throttle_key(client: &str) -> String {
    match client.parse::<IpAddr>().map(canonical) {
        Ok(IpAddr::V6(v6)) => Ipv6Net::new(v6, 64)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        Ok(v4) => v4.to_string(),
        Err(_) => client.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mapped_ipv6_is_ipv4() {
        assert_eq!(canonical(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(throttle_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), [], &TrustedProxies::default()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        assert_eq!(throttle_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            throttle_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            throttle_key("2001:db8:1:3::1"),
            throttle_key("2001:db8:1:2::1")
        );
        assert_eq!(throttle_key("203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["198.51.100.1"], &none),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted() {
        let trusted: TrustedProxies = "127.0.0.0/8, 10.0.0.0/8,fd00::/8".parse().unwrap();
        // The client claims 1.1.1.1; the edge proxy saw 198.51.100.1; an inner proxy 10.1.1.1.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                ["1.1.1.1, 198.51.100.1", "10.1.1.1"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // A peer that is not trusted cannot vouch for anyone.
        assert_eq!(
            client_ip(ip("203.0.113.5"), ["198.51.100.1"], &trusted),
            ip("203.0.113.5")
        );
        // Only proxies in the chain: the leftmost of them.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["10.2.2.2, 10.1.1.1"], &trusted),
            ip("10.2.2.2")
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("127.0.0.1"), [], &trusted), ip("127.0.0.1"));
        // Garbage stops the walk at the last hop we trust.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["198.51.100.1, junk, 10.1.1.1"], &trusted),
            ip("10.1.1.1")
        );
        // Ports and mapped addresses are read.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["[2001:db8::5]:443"], &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), ["::ffff:198.51.100.9"], &trusted),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn trusted_proxies_parse() {
        let t: TrustedProxies = "10.0.0.1, 192.168.0.0/16".parse().unwrap();
        assert!(t.contains(ip("10.0.0.1")) && !t.contains(ip("10.0.0.2")));
        assert!(t.contains(ip("192.168.44.1")));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nonsense".parse::<TrustedProxies>().is_err());
        assert_eq!("".parse::<TrustedProxies>().unwrap(), Default::default());
    }
}

//! The client's IP address behind reverse proxies.
//!
//! `X-Forwarded-For` is believed only when the direct peer is a trusted proxy
//! (`TRUSTED_PROXIES`), and then the right-most hop that is not itself trusted
//! is the client: everything left of it could have been written by the client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Context;
use ipnet::IpNet;

/// The CIDR ranges whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated CIDR list such as `127.0.0.1/32,::1/128`.
    /// A bare address counts as a single-host range.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        crate::config::split_list(raw)
            .iter()
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .with_context(|| format!("TRUSTED_PROXIES item {item:?} is not a CIDR"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Self)
    }

    /// From `TRUSTED_PROXIES` (default: loopback only).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::parse(&crate::config::or_default(
            "TRUSTED_PROXIES",
            crate::config::defaults::TRUSTED_PROXIES,
        ))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer` carrying these
    /// `X-Forwarded-For` header values (in order of appearance).
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .filter_map(|hop| parse_hop(hop.trim()))
            .collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// The key a per-client limit (request rate, connection count) counts under.
///
/// An IPv4 client is its address. An IPv6 client is its /64: one subscriber
/// usually holds a whole /64 (often far more), so keying on the /128 would give
/// one attacker 2^64 separate quotas. An IPv4-mapped IPv6 address counts as
/// the IPv4 address it carries. An unknown client address (no peer address
/// at all) shares one bucket with every other unknown one, so it is limited
/// rather than waved through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateLimitKey(IpAddr);

impl RateLimitKey {
    /// The bucket of clients whose address is unknown.
    pub const UNKNOWN: Self = Self(IpAddr::V4(Ipv4Addr::UNSPECIFIED));

    pub fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(canonical) {
            None => Self::UNKNOWN,
            Some(IpAddr::V4(v4)) => Self(IpAddr::V4(v4)),
            Some(IpAddr::V6(v6)) => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                Self(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }

    /// The address (IPv4) or network address of the /64 (IPv6) counted under.
    pub fn ip(self) -> IpAddr {
        self.0
    }
}

impl std::fmt::Display for RateLimitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V6(_) => write!(f, "{}/64", self.0),
            IpAddr::V4(_) if *self == Self::UNKNOWN => f.write_str("<unknown>"),
            IpAddr::V4(_) => write!(f, "{}", self.0),
        }
    }
}

/// An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One `X-Forwarded-For` hop: an address, possibly with a port or brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    hop.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect("test address")
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse("127.0.0.1/32,::1/128,10.0.0.0/8").expect("valid CIDRs")
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            proxies().client_ip(ip("203.0.113.9"), ["1.2.3.4"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn right_most_untrusted_hop_wins() {
        let client = proxies().client_ip(ip("127.0.0.1"), ["6.6.6.6, 198.51.100.7, 10.1.2.3"]);
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn trusted_peer_without_header_is_the_client() {
        assert_eq!(proxies().client_ip(ip("::1"), []), ip("::1"));
    }

    #[test]
    fn garbage_hops_are_ignored() {
        assert_eq!(
            proxies().client_ip(ip("127.0.0.1"), ["nonsense, 198.51.100.7:443"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_and_ipv4_per_address() {
        let key = |raw: &str| RateLimitKey::of(Some(ip(raw)));
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_ne!(key("198.51.100.1"), key("198.51.100.2"));
        assert_eq!(key("::ffff:198.51.100.1"), key("198.51.100.1"));
        assert_eq!(RateLimitKey::of(None), RateLimitKey::UNKNOWN);
        assert_eq!(RateLimitKey::of(None).to_string(), "<unknown>");
    }

    #[test]
    fn bad_cidr_is_an_error() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}

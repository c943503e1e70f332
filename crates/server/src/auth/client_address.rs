//! The address a request comes from, for the throttle and the audit log (docs/security.md,
//! rule 5): the TCP peer's, unless the peer is one of the `trusted-proxies`; then the
//! rightmost address in `X-Forwarded-For` that is not a trusted proxy (each proxy appends
//! the address it saw, so the entries left of it were written by the client and prove
//! nothing).

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

pub const FORWARDED_FOR: &str = "x-forwarded-for";

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let mut address = peer.to_canonical();
    if !trusted(&address) {
        return address;
    }
    // Several headers are one list, in order.
    let hops = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        match parse_hop(hop) {
            Some(hop) => {
                address = hop;
                if !trusted(&hop) {
                    break;
                }
            }
            // What a proxy cannot have written: the last proxy's address stands.
            None => break,
        }
    }
    address
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::config::parse_proxy;

    fn address(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| parse_proxy(t).unwrap()).collect();
        client_address(peer.parse().unwrap(), &headers, &trusted).to_string()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy_and_only_its_own_hop() {
        // No trusted proxies (the default): the header is the client's word, ignored.
        assert_eq!(address("10.0.0.5", &["203.0.113.7"], &[]), "10.0.0.5");
        // From a proxy that is not trusted, likewise.
        assert_eq!(
            address("10.0.0.5", &["203.0.113.7"], &["10.1.0.0/16"]),
            "10.0.0.5"
        );
        // From a trusted proxy: the hop it appended.
        assert_eq!(
            address("10.0.0.5", &["203.0.113.7"], &["10.0.0.0/8"]),
            "203.0.113.7"
        );
        // What the client wrote to the left is ignored; trusted hops are skipped.
        assert_eq!(
            address(
                "10.0.0.5",
                &["1.1.1.1, 203.0.113.7, 10.0.0.9"],
                &["10.0.0.0/8"]
            ),
            "203.0.113.7"
        );
        assert_eq!(
            address(
                "10.0.0.5",
                &["1.1.1.1", "203.0.113.7 , 10.0.0.9"],
                &["10.0.0.0/8"]
            ),
            "203.0.113.7"
        );
        // Only proxies in the chain: the first of them.
        assert_eq!(
            address("10.0.0.5", &["10.0.0.7, 10.0.0.9"], &["10.0.0.0/8"]),
            "10.0.0.7"
        );
        // Garbage, or no header: the nearest proxy's address stands.
        assert_eq!(
            address("10.0.0.5", &["1.1.1.1, <script>"], &["10.0.0.5"]),
            "10.0.0.5"
        );
        assert_eq!(address("10.0.0.5", &[], &["10.0.0.5"]), "10.0.0.5");
        assert_eq!(
            address("10.0.0.5", &["unknown, 10.0.0.9"], &["10.0.0.0/8"]),
            "10.0.0.9"
        );
        // Ports and IPv6, and IPv4 seen through an IPv6 socket.
        assert_eq!(
            address("::ffff:10.0.0.5", &["[2001:db8::1]:443"], &["10.0.0.5/32"]),
            "2001:db8::1"
        );
        assert_eq!(
            address("::1", &["203.0.113.7:1234"], &["::1"]),
            "203.0.113.7"
        );
    }

    #[test]
    fn proxies_are_ranges_or_addresses() {
        assert_eq!(
            parse_proxy(" 10.0.0.0/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_proxy("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_proxy("::1").unwrap().to_string(), "::1/128");
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("proxy.example.com").is_err());
    }
}

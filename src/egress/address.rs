//! Which IP addresses count as the public internet. After DNS, a request to anything else —
//! loopback, private, link-local, shared, documentation, multicast, reserved — is refused unless
//! the service's policy explicitly allows it (only demo and test policies do): a DNS answer must
//! not turn an allowlisted name into a door to the appliance's own network.
//!
//! `std`'s `IpAddr::is_global` is still unstable, so the special-purpose ranges of the IANA
//! registries (RFC 6890 and its updates) are listed here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a globally reachable unicast address.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // "this network"
        || a == 10                              // private
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || a == 127                             // loopback
        || (a == 169 && b == 254)               // link-local
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 88 && c == 99)     // deprecated 6to4 relay anycast
        || (a == 192 && b == 168)               // private
        || (a == 198 && (18..20).contains(&b))  // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address in IPv6 clothing is judged as the IPv4 address it reaches.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64 well-known prefix: the last 32 bits are the IPv4 destination.
        return is_global_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0, 0, 0, 0, 0, 0]                  // IPv4-compatible (deprecated)
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])       // discard-only
        || (s[0] == 0x2001 && s[1] < 0x0200)               // IETF protocol assignments (incl. Teredo)
        || (s[0] == 0x2001 && s[1] == 0x0db8)              // documentation
        || s[0] == 0x2002                                  // 6to4: tunnels to an arbitrary IPv4 host
        || (s[0] == 0x3fff && s[1] < 0x1000)               // documentation (RFC 9637)
        || (s[0] & 0xfe00) == 0xfc00                       // unique local
        || (s[0] & 0xffc0) == 0xfe80                       // link-local
        || (s[0] & 0xffc0) == 0xfec0                       // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00) // multicast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_pass_and_every_special_range_is_refused() {
        for public in
            ["208.80.154.224", "1.1.1.1", "2620:0:861:ed1a::1", "2a02:ec80:300:ed1a::1", "::ffff:8.8.8.8"]
        {
            assert!(is_global(public.parse().unwrap()), "{public} is public");
        }
        for special in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2001::1",
            "2002:c0a8:101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::127.0.0.1",
            "3fff::1",
        ] {
            assert!(!is_global(special.parse().unwrap()), "{special} must be refused");
        }
        // Ranges end where they should.
        assert!(is_global("172.32.0.1".parse().unwrap()) && is_global("100.128.0.1".parse().unwrap()));
        assert!(is_global("64:ff9b::808:808".parse().unwrap()), "NAT64 to a public IPv4 address");
    }
}

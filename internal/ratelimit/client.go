package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// ParsePrefixes reads CIDR ranges (or single addresses).
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := parsePrefix(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func within(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that sent an HTTP
// request, as PeerClient does.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return PeerClient(r.RemoteAddr, textproto.MIMEHeader(r.Header), trusted)
}

// PeerClient returns the address of the client that sent a request from
// remoteAddr (host:port, or a host) with headers h: the peer, unless the
// peer is a trusted proxy; then the right-most X-Forwarded-For address
// that is not itself a trusted proxy. Addresses left of that one could be
// written by anyone, so they are never used.
func PeerClient(remoteAddr string, h textproto.MIMEHeader, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if len(trusted) == 0 || !within(peer, trusted) {
		return peer
	}
	hops := h.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client // a malformed hop ends what can be trusted
			}
			client = a.Unmap()
			if !within(client, trusted) {
				return client
			}
		}
	}
	return client
}

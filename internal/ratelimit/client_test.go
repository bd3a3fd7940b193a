package ratelimit

import (
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzPeerClient checks that the client of a request is its peer, or an
// address of its X-Forwarded-For when the peer is a trusted proxy.
func FuzzPeerClient(f *testing.F) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range [][2]string{
		{"10.0.0.1:80", "203.0.113.9, 10.0.0.2"},
		{"192.0.2.1:443", "203.0.113.9"},
		{"[::1]:8080", "2001:db8::1,  10.1.1.1"},
		{"10.0.0.1", "junk, 203.0.113.9"},
		{"", ""},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		peer := PeerClient(remote, nil, trusted)
		got := PeerClient(remote, textproto.MIMEHeader{"X-Forwarded-For": {xff}}, trusted)
		if !within(peer, trusted) {
			if got != peer {
				t.Fatalf("%q from untrusted %q: %v, want the peer %v", xff, remote, got, peer)
			}
			return
		}
		if got == peer {
			return
		}
		for part := range strings.SplitSeq(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil && a.Unmap() == got {
				return
			}
		}
		t.Fatalf("%q via %q: %v is neither the peer nor a forwarded address", xff, remote, got)
	})
}

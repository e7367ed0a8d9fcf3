package scrape

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrForbiddenTarget is matched (errors.Is) by every refusal to fetch a URL
// for safety reasons: a scheme other than http/https, credentials in the URL,
// or an address that is loopback, private, link-local, CGNAT, multicast,
// unspecified or reserved (unless Options.AllowPrivate). The concrete error is
// a *TargetError naming the host and the reason.
var ErrForbiddenTarget = errors.New("forbidden target")

// ErrInvalidURL is matched by errors for website strings that are not URLs or
// host names at all.
var ErrInvalidURL = errors.New("invalid website URL")

// ErrRobotsDisallowed is matched by the error returned when robots.txt forbids
// fetching a site's home page.
var ErrRobotsDisallowed = errors.New("disallowed by robots.txt")

// TargetError explains why a URL or address was refused. It matches
// ErrForbiddenTarget.
type TargetError struct {
	Host   string // host name or address as written in the URL
	Reason string // e.g. "loopback address 127.0.0.1", "scheme \"file\" not allowed"
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("scrape: refused target %q: %s", e.Host, e.Reason)
}

// Unwrap makes errors.Is(err, ErrForbiddenTarget) true.
func (e *TargetError) Unwrap() error { return ErrForbiddenTarget }

// checkURL refuses URLs that must never be fetched whatever they resolve to:
// non-http(s) schemes, credentials, empty hosts, and (unless allowPrivate)
// literal IP addresses in forbidden ranges. Host names are checked later, at
// dial time, on the address actually connected to.
func checkURL(u *url.URL, allowPrivate bool) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		host := u.Host
		if host == "" {
			host = u.Scheme + ":" + u.Opaque
		}
		return &TargetError{Host: host, Reason: fmt.Sprintf("scheme %q not allowed (only http and https)", u.Scheme)}
	}
	if u.User != nil {
		return &TargetError{Host: u.Host, Reason: "credentials (user info) in URL not allowed"}
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: %q has no host", ErrInvalidURL, u.String())
	}
	if allowPrivate {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if reason := forbiddenIP(ip); reason != "" {
			return &TargetError{Host: host, Reason: reason}
		}
	}
	return nil
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	reserved4 = netip.MustParsePrefix("240.0.0.0/4") // includes 255.255.255.255
	ietf4     = netip.MustParsePrefix("192.0.0.0/24")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64loc  = netip.MustParsePrefix("64:ff9b:1::/48")
	compat4   = netip.MustParsePrefix("::/96")     // deprecated IPv4-compatible
	siteLocal = netip.MustParsePrefix("fec0::/10") // deprecated site-local
)

// forbiddenIP returns why ip may not be contacted, or "" when it may.
// IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms are judged
// by the IPv4 address they carry.
func forbiddenIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if r := forbiddenIP(v4); r != "" {
			return r + " (NAT64 " + ip.String() + ")"
		}
	}
	var kind string
	switch {
	case ip.IsLoopback():
		kind = "loopback"
	case ip.IsUnspecified(), thisNet.Contains(ip):
		kind = "unspecified"
	case ip.IsPrivate(), siteLocal.Contains(ip):
		kind = "private"
	case ip.IsLinkLocalUnicast():
		kind = "link-local"
		if ip == netip.AddrFrom4([4]byte{169, 254, 169, 254}) {
			kind = "cloud metadata (link-local)"
		}
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		kind = "multicast"
	case cgnat.Contains(ip):
		kind = "carrier-grade NAT"
	case reserved4.Contains(ip), ietf4.Contains(ip), nat64loc.Contains(ip), compat4.Contains(ip):
		kind = "reserved"
	default:
		return ""
	}
	return kind + " address " + ip.String()
}

// dialer connects to hosts, applying Options.Resolve overrides and, unless
// allowPrivate, refusing forbidden addresses at connect time (so DNS answers
// and redirects are checked on the IP actually used).
type dialer struct {
	resolve func(host string) (string, error)
	plain   net.Dialer // for Resolve overrides, which are trusted
	guarded net.Dialer // Control refuses forbidden IPs unless allowPrivate
}

func newDialer(opts Options) *dialer {
	d := &dialer{resolve: opts.Resolve}
	d.plain.Timeout = opts.Timeout
	d.guarded.Timeout = opts.Timeout
	if !opts.AllowPrivate {
		d.guarded.Control = controlAddr
	}
	return d
}

func controlAddr(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &TargetError{Host: address, Reason: "unparseable dial address"}
	}
	if reason := forbiddenIP(ap.Addr()); reason != "" {
		return &TargetError{Host: address, Reason: reason}
	}
	return nil
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("scrape: dial %s: %w", addr, err)
	}
	if d.resolve != nil {
		to, err := d.resolve(strings.TrimSuffix(strings.ToLower(host), "."))
		if err != nil {
			return nil, err
		}
		if to != "" {
			return d.plain.DialContext(ctx, network, to)
		}
	}
	conn, err := d.guarded.DialContext(ctx, network, addr)
	var te *TargetError
	if errors.As(err, &te) {
		// Report the name from the URL, not only the resolved address.
		return nil, &TargetError{Host: host, Reason: te.Reason}
	}
	return conn, err
}

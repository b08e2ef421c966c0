package syslog

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clientHeaders adds the sender's IP address and host name to events, under
// the header names configured (empty: none).
type clientHeaders struct {
	ip, name string

	mu    sync.Mutex
	names map[netip.Addr]string // UDP senders' names, bounded
}

// lookupTimeout bounds one reverse DNS lookup.
const lookupTimeout = 2 * time.Second

// maxNames bounds the UDP sender name cache; it is emptied when full.
const maxNames = 4096

func addrOf(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return v.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// add sets the configured headers for a sender.
func (c *clientHeaders) add(ctx context.Context, h map[string]string, from net.Addr) {
	if c.ip == "" && c.name == "" {
		return
	}
	a := addrOf(from)
	if c.ip != "" {
		h[c.ip] = javaIP(a)
	}
	if c.name != "" {
		h[c.name] = c.hostname(ctx, a)
	}
}

// hostname is the sender's name by reverse DNS, or its address as Java
// writes it when there is none (what Java's getHostName returns).
func (c *clientHeaders) hostname(ctx context.Context, a netip.Addr) string {
	c.mu.Lock()
	if n, ok := c.names[a]; ok {
		c.mu.Unlock()
		return n
	}
	c.mu.Unlock()
	n := javaIP(a)
	if a.IsValid() {
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		names, err := net.DefaultResolver.LookupAddr(lctx, a.String())
		cancel()
		if err == nil && len(names) > 0 {
			n = strings.TrimSuffix(names[0], ".")
		}
	}
	c.mu.Lock()
	if c.names == nil || len(c.names) >= maxNames {
		c.names = map[netip.Addr]string{}
	}
	c.names[a] = n
	c.mu.Unlock()
	return n
}

// javaIP writes an address as Java's InetAddress.getHostAddress does:
// IPv6 in eight full groups, without brackets.
func javaIP(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := a.Zone(); z != "" {
		sb.WriteString("%" + z)
	}
	return sb.String()
}

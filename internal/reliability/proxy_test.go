package reliability

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards loopback TCP connections to a directory server and can misbehave like a
// network or a dying server: cut the server's answer after some bytes, or delay it.
type tcpProxy struct {
	target string
	ln     net.Listener

	mu       sync.Mutex
	cutAfter int64         // > 0: each connection's server-to-client stream is cut after this many bytes
	delay    time.Duration // added before each server-to-client chunk
	conns    map[net.Conn]bool
	closed   bool
	accepted int
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// url is the ldap:// URL of the proxy.
func (p *tcpProxy) url() string { return "ldap://" + p.ln.Addr().String() }

// misbehave sets how new connections behave (0, 0 = faithfully).
func (p *tcpProxy) misbehave(cutAfter int64, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter, p.delay = cutAfter, delay
}

// connections is how many connections clients opened through the proxy.
func (p *tcpProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
}

func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *tcpProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		p.mu.Unlock()
		go p.handle(client)
	}
}

func (p *tcpProxy) handle(client net.Conn) {
	server, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.mu.Lock()
	cutAfter, delay := p.cutAfter, p.delay
	p.mu.Unlock()
	closeBoth := func() { _ = client.Close(); _ = server.Close() }
	go func() {
		_, _ = io.Copy(server, client)
		closeBoth()
	}()
	buf := make([]byte, 4096)
	var sent int64
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if delay > 0 {
				time.Sleep(delay)
			}
			chunk := buf[:n]
			if cutAfter > 0 && sent+int64(n) > cutAfter {
				chunk = chunk[:cutAfter-sent]
				_, _ = client.Write(chunk)
				closeBoth() // the server "died" mid-answer
				return
			}
			if _, werr := client.Write(chunk); werr != nil {
				closeBoth()
				return
			}
			sent += int64(n)
		}
		if err != nil {
			closeBoth()
			return
		}
	}
}

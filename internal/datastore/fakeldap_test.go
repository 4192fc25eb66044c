package datastore

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// fakeLDAP is a scripted LDAP server for behaviour slapd cannot produce:
// Active Directory range retrieval and continuation references, servers that
// ignore paging, fail mid-way or never answer.
type fakeLDAP struct {
	ln     net.Listener
	handle func(req fakeSearch) fakeResult
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

type fakeSearch struct {
	Base     string
	Scope    int
	Filter   string
	Attrs    []string
	PageSize uint32 // 0 = no paging control
	Cookie   string
}

type fakeResult struct {
	Entries []*ldap.Entry
	Refs    []string
	Code    uint16
	Cookie  string // non-empty: more pages follow
	Paged   bool   // send a paging response control
	Hang    bool   // never answer
}

func startFakeLDAP(t *testing.T, handle func(fakeSearch) fakeResult) *fakeLDAP {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLDAP{ln: ln, handle: handle}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *fakeLDAP) URL() string { return "ldap://" + f.ln.Addr().String() }

func (f *fakeLDAP) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeLDAP) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.serveConn(c)
		}()
	}
}

func (f *fakeLDAP) serveConn(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		p, err := ber.ReadPacket(r)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, ok := p.Children[0].Value.(int64)
		if !ok {
			return
		}
		op := p.Children[1]
		// Application-class LDAP operations: ber.Tag's constants name the universal class.
		//exhaustive:ignore
		switch op.Tag {
		case ldap.ApplicationBindRequest:
			if !f.write(c, envelope(id, ldapResult(ldap.ApplicationBindResponse, 0))) {
				return
			}
		case ldap.ApplicationSearchRequest:
			req, err := decodeSearch(p)
			if err != nil {
				return
			}
			res := f.handle(req)
			if res.Hang {
				continue
			}
			for _, e := range res.Entries {
				if !f.write(c, envelope(id, encodeEntry(e))) {
					return
				}
			}
			for _, ref := range res.Refs {
				seq := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "ref")
				seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ref, "uri"))
				if !f.write(c, envelope(id, seq)) {
					return
				}
			}
			done := envelope(id, ldapResult(ldap.ApplicationSearchResultDone, res.Code))
			if res.Paged {
				ctrl := ldap.NewControlPaging(0)
				ctrl.SetCookie([]byte(res.Cookie))
				controls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
				controls.AppendChild(ctrl.Encode())
				done.AppendChild(controls)
			}
			if !f.write(c, done) {
				return
			}
		default: // unbind, abandon
			return
		}
	}
}

func (f *fakeLDAP) write(c net.Conn, p *ber.Packet) bool {
	_, err := c.Write(p.Bytes())
	return err == nil
}

func envelope(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	return p
}

func ldapResult(tag ber.Tag, code uint16) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "result")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(code), "resultCode"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
	return p
}

func encodeEntry(e *ldap.Entry) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "entry")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.DN, "dn"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for _, a := range e.Attributes {
		attr := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
		attr.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.Name, "type"))
		vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "values")
		for _, v := range a.Values {
			vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		attr.AppendChild(vals)
		attrs.AppendChild(attr)
	}
	p.AppendChild(attrs)
	return p
}

func decodeSearch(p *ber.Packet) (fakeSearch, error) {
	op := p.Children[1]
	if len(op.Children) < 8 {
		return fakeSearch{}, errors.New("short search request")
	}
	filter, err := ldap.DecompileFilter(op.Children[6])
	if err != nil {
		return fakeSearch{}, err
	}
	scope, ok := op.Children[1].Value.(int64)
	if !ok {
		return fakeSearch{}, errors.New("bad scope")
	}
	req := fakeSearch{
		Base:   string(op.Children[0].ByteValue),
		Scope:  int(scope),
		Filter: filter,
	}
	for _, a := range op.Children[7].Children {
		req.Attrs = append(req.Attrs, string(a.ByteValue))
	}
	if len(p.Children) > 2 {
		for _, c := range p.Children[2].Children {
			ctrl, err := ldap.DecodeControl(c)
			if err != nil {
				return fakeSearch{}, err
			}
			if paging, ok := ctrl.(*ldap.ControlPaging); ok {
				req.PageSize, req.Cookie = paging.PagingSize, string(paging.Cookie)
			}
		}
	}
	return req, nil
}

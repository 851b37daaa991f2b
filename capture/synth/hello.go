package synth

// Length-prefixed writing without allocation: begin reserves the prefix and
// returns its offset, end fills it in.

func put16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func begin(b []byte, n int) ([]byte, int) {
	off := len(b)
	if cap(b)-off < n {
		b = append(b, make([]byte, n)...)
	}
	return b[:off+n], off
}

func end(b []byte, off, n int) {
	l := len(b) - off - n
	for i := n - 1; i >= 0; i-- {
		b[off+i] = byte(l)
		l >>= 8
	}
}

// greaseValues are the 16 GREASE code points of RFC 8701.
func greaseValue(i uint64) uint16 {
	v := uint16(i&15)<<4 | 0x0a
	return v<<8 | v
}

// appendRandom appends n random bytes: fresh from r for short fields, and
// for long ones (key shares, ciphertext) a slice of randPool at an offset
// drawn from r, which costs a copy instead of n/8 draws.
func appendRandom(b []byte, r *rng, n int) []byte {
	if n > 64 && n <= 16384 {
		off := r.intn(poolSize)
		return append(b, randPool[off:off+n]...)
	}
	off := len(b)
	b, _ = begin(b, n)
	r.fill(b[off:])
	return b
}

// poolSize is the span of randPool that random offsets are drawn from.
const poolSize = 1 << 18

// randPool holds fixed pseudo-random bytes; offsets into it stand in for
// fresh random data in long fields and record bodies.
var randPool = func() []byte {
	b := make([]byte, poolSize+16384+64)
	r := newRNG(0x6d6f6e69746f72)
	r.fill(b)
	return b
}()

// AppendClientHello appends to dst one TLS record holding a ClientHello laid
// out as stack sends it, with server_name set to serverName (omitted when
// empty), and returns the extended slice. Random, session ID, key shares,
// GREASE values, Chrome's extension order and ECH GREASE bytes come from seed:
// the same arguments always give the same bytes. The caller owns dst; with
// enough capacity (4 KiB) the call does not allocate.
func AppendClientHello(dst []byte, stack Stack, serverName string, seed uint64) []byte {
	if stack >= numStacks {
		stack = StackChrome
	}
	return appendHelloSpec(dst, &specs[stack], serverName, seed)
}

// appendHelloSpec is AppendClientHello for a layout.
func appendHelloSpec(dst []byte, sp *spec, serverName string, seed uint64) []byte {
	r := newRNG(seed)
	// Distinct GREASE values for ciphers, groups, versions, key shares and
	// the two GREASE extensions, as BoringSSL picks them.
	g0 := r.u64()
	gCipher, gGroup, gExt1, gExt2, gVers := greaseValue(g0), greaseValue(g0>>4), greaseValue(g0>>8),
		greaseValue(g0>>12), greaseValue(g0>>16)
	if gExt2 == gExt1 {
		gExt2 ^= 0x1010
	}

	b := dst
	b = append(b, 0x16)
	b = put16(b, sp.recordVersion)
	b, recLen := begin(b, 2)
	b = append(b, 0x01)
	b, hsLen := begin(b, 3)
	b = put16(b, sp.helloVersion)
	b = appendRandom(b, &r, 32)
	if sp.sessionID {
		b = append(b, 32)
		b = appendRandom(b, &r, 32)
	} else {
		b = append(b, 0)
	}
	b, l := begin(b, 2)
	for _, c := range sp.ciphers {
		if c == greaseMark {
			c = gCipher
		}
		b = put16(b, c)
	}
	end(b, l, 2)
	b = append(b, 1, 0) // compression: null only
	b, extLen := begin(b, 2)

	var order [24]uint16
	n := copy(order[:], sp.exts)
	if sp.shuffle && n > 3 {
		mid := order[1 : n-1]
		for i := len(mid) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			mid[i], mid[j] = mid[j], mid[i]
		}
	}
	firstGrease := true
	for _, e := range order[:n] {
		if e == greaseMark {
			if firstGrease {
				b = put16(b, gExt1)
				b = put16(b, 0)
				firstGrease = false
			} else {
				b = put16(b, gExt2)
				b = put16(b, 1)
				b = append(b, 0)
			}
			continue
		}
		if e == extServerName && serverName == "" {
			continue
		}
		b = put16(b, e)
		var el int
		b, el = begin(b, 2)
		b = appendExt(b, sp, e, serverName, &r, gGroup, gVers)
		end(b, el, 2)
	}
	if sp.pad512 {
		// BoringSSL and OpenSSL pad a hello of 256..511 bytes (handshake
		// header included) to 512 so that buggy middleboxes accept it.
		if h := len(b) - (hsLen - 1); h > 0xff && h < 0x200 {
			p := 0x200 - h
			if p >= 5 {
				p -= 4
			} else {
				p = 1
			}
			b = put16(b, extPadding)
			b = put16(b, uint16(p))
			for range p {
				b = append(b, 0)
			}
		}
	}
	end(b, extLen, 2)
	end(b, hsLen, 3)
	end(b, recLen, 2)
	return b
}

func appendExt(b []byte, sp *spec, e uint16, sni string, r *rng, gGroup, gVers uint16) []byte {
	var l int
	switch e {
	case extServerName:
		b, l = begin(b, 2)
		b = append(b, 0)
		b = put16(b, uint16(len(sni)))
		b = append(b, sni...)
		end(b, l, 2)
	case extStatusRequest:
		b = append(b, 1, 0, 0, 0, 0)
	case extGroups:
		b, l = begin(b, 2)
		for _, g := range sp.groups {
			if g == greaseMark {
				g = gGroup
			}
			b = put16(b, g)
		}
		end(b, l, 2)
	case extPointFormats:
		b = append(b, byte(len(sp.pointFormats)))
		b = append(b, sp.pointFormats...)
	case extSigAlgs:
		b = appendList16(b, sp.sigAlgs)
	case extDelegatedCreds:
		b = appendList16(b, sp.dcSigAlgs)
	case extALPN:
		b, l = begin(b, 2)
		for _, p := range sp.alpn {
			b = append(b, byte(len(p)))
			b = append(b, p...)
		}
		end(b, l, 2)
	case extALPS:
		b, l = begin(b, 2)
		b = append(b, 2, 'h', '2')
		end(b, l, 2)
	case extReneg:
		b = append(b, 0)
	case extVersions:
		b, l = begin(b, 1)
		for _, v := range sp.versions {
			if v == greaseMark {
				v = gVers
			}
			b = put16(b, v)
		}
		end(b, l, 1)
	case extPSKModes:
		b = append(b, 1, 1)
	case extCompressCert:
		b = append(b, byte(2*len(sp.certCompress)))
		for _, a := range sp.certCompress {
			b = put16(b, a)
		}
	case extRecordSize:
		b = put16(b, 0x4001)
	case extKeyShare:
		b, l = begin(b, 2)
		for _, g := range sp.keyShares {
			if g == greaseMark {
				b = put16(b, gGroup)
				b = put16(b, 1)
				b = append(b, 0)
				continue
			}
			b = put16(b, g)
			n := keyShareLen(g)
			b = put16(b, uint16(n))
			off := len(b)
			b = appendRandom(b, r, n)
			if g == groupP256 {
				b[off] = 4 // uncompressed point
			}
		}
		end(b, l, 2)
	case extQUICParams:
		b = append(b, quicTransportParams...)
	case extECH:
		// An outer ECH extension with random config ID, encapsulated key
		// and payload: what Chrome and Firefox send as ECH GREASE.
		b = append(b, 0)     // outer
		b = put16(b, 0x0001) // HKDF-SHA256
		b = put16(b, 0x0001) // AES-128-GCM
		b = append(b, byte(r.u64()))
		b = put16(b, 32)
		b = appendRandom(b, r, 32)
		n := 144 + 32*r.intn(4)
		b = put16(b, uint16(n))
		b = appendRandom(b, r, n)
	}
	// Empty extensions (EMS, session ticket, SCT, encrypt-then-MAC,
	// post-handshake auth) have no body.
	return b
}

func appendList16(b []byte, v []uint16) []byte {
	b = put16(b, uint16(2*len(v)))
	for _, x := range v {
		b = put16(b, x)
	}
	return b
}

func keyShareLen(g uint16) int {
	switch g {
	case groupX25519MLKEM:
		return 1184 + 32 // ML-KEM-768 encapsulation key, then X25519
	case groupP256:
		return 65
	case groupP384:
		return 97
	}
	return 32
}

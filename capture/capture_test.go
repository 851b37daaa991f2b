package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

func readAll(t testing.TB, src Source) []Frame {
	t.Helper()
	var out []Frame
	for {
		var f Frame
		err := src.Read(&f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

func TestFileSourceFormats(t *testing.T) {
	t.Parallel()
	plain := filepath.Join("testdata", "link-ethernet.pcap")
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gz := filepath.Join(dir, "x.pcap.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFiles([]string{plain}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, src)
	if len(want) == 0 {
		t.Fatal("no frames")
	}

	t.Run("gzip", func(t *testing.T) {
		src, err := OpenFiles([]string{gz}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); len(got) != len(want) || !bytes.Equal(got[3].Data, want[3].Data) {
			t.Fatalf("gzip: %d frames, want %d", len(got), len(want))
		}
	})
	t.Run("stdin", func(t *testing.T) {
		src, err := OpenFiles([]string{"-"}, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); len(got) != len(want) {
			t.Fatalf("stdin: %d frames, want %d", len(got), len(want))
		}
		if _, total := src.Progress(); total != -1 {
			t.Errorf("stdin total = %d, want -1 (unknown)", total)
		}
	})
	t.Run("several files are one capture", func(t *testing.T) {
		src, err := OpenFiles([]string{plain, gz, filepath.Join("testdata", "link-sll2.pcap")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, src)
		if len(got) != 3*len(want) {
			t.Fatalf("%d frames, want %d", len(got), 3*len(want))
		}
		if got[2*len(want)].LinkType != LinkLinuxSLL2 {
			t.Errorf("third file link type = %d, want %d", got[2*len(want)].LinkType, LinkLinuxSLL2)
		}
		done, total := src.Progress()
		if done != total {
			t.Errorf("progress %d of %d after the end", done, total)
		}
	})
	t.Run("pcapng", func(t *testing.T) {
		src, err := OpenFiles([]string{filepath.Join(sharedTestdata, "ja4/pcap/tls-handshake.pcapng")}, nil)
		if err != nil {
			t.Skip(err)
		}
		if got := readAll(t, src); len(got) != 193 {
			t.Fatalf("%d frames, want 193 (capinfos)", len(got))
		}
	})
	t.Run("cut short", func(t *testing.T) {
		cut := filepath.Join(dir, "cut.pcap")
		os.WriteFile(cut, raw[:len(raw)-10], 0o644)
		src, err := OpenFiles([]string{cut}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); len(got) != len(want)-1 {
			t.Errorf("%d frames, want %d", len(got), len(want)-1)
		}
		if len(src.Warnings()) != 1 {
			t.Errorf("warnings = %v, want one", src.Warnings())
		}
	})
	t.Run("errors listed together", func(t *testing.T) {
		notcap := filepath.Join(dir, "notes.txt")
		os.WriteFile(notcap, []byte("hello world, this is not a capture file"), 0o644)
		_, err := OpenFiles([]string{filepath.Join(dir, "missing1"), dir, filepath.Join(dir, "missing2")}, nil)
		if err == nil || strings.Count(err.Error(), "\n") != 2 {
			t.Errorf("err = %v, want three problems", err)
		}
		_, err = OpenFiles([]string{notcap}, nil)
		if !errors.Is(err, ErrNotCapture) {
			t.Errorf("err = %v, want ErrNotCapture", err)
		}
	})
}

func TestShardKeepsFlowsTogether(t *testing.T) {
	t.Parallel()
	files := []string{filepath.Join("testdata", "link-ethernet.pcap"), filepath.Join("testdata", "link-qinq.pcap")}
	src, err := OpenFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := readAll(t, src)
	src, _ = OpenFiles(files, nil)
	shards := Shard(src, ShardConfig{Workers: 3, TickNanos: 5e6, BatchFrames: 4})
	// Shards must be read concurrently: a full shard blocks the reader.
	type key struct{ a, b string }
	type seen struct {
		flows  map[key]bool
		frames int
		ticks  int
		err    error
	}
	res := make([]seen, len(shards))
	done := make(chan int)
	for w, sh := range shards {
		go func() {
			defer func() { done <- w }()
			d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
			r := &res[w]
			r.flows = map[key]bool{}
			var last int64
			for {
				var f Frame
				err := sh.Read(&f)
				if errors.Is(err, ErrTimeout) {
					r.ticks++
					if f.Timestamp < last/5e6*5e6 {
						r.err = errors.New("tick goes back in time")
					}
					continue
				}
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					r.err = err
					return
				}
				last = f.Timestamp
				r.frames++
				var p Packet
				if rr := d.Decode(&f, &p); rr != ResultOK && rr != ResultOtherPort {
					continue
				}
				a, b := p.Src.String()+":"+strconv.Itoa(int(p.SrcPort)), p.Dst.String()+":"+strconv.Itoa(int(p.DstPort))
				if a > b {
					a, b = b, a
				}
				r.flows[key{a, b}] = true
			}
		}()
	}
	for range shards {
		<-done
	}
	owner := map[key]int{}
	total, ticks := 0, 0
	for w, r := range res {
		if r.err != nil {
			t.Fatalf("worker %d: %v", w, r.err)
		}
		total += r.frames
		ticks += r.ticks
		for k := range r.flows {
			if o, ok := owner[k]; ok && o != w {
				t.Errorf("flow %v on workers %d and %d", k, o, w)
			}
			owner[k] = w
		}
	}
	if total != len(all) {
		t.Errorf("shards delivered %d frames, want %d", total, len(all))
	}
	if ticks == 0 {
		t.Error("no time ticks delivered")
	}
	used := map[int]bool{}
	for _, w := range owner {
		used[w] = true
	}
	if len(used) < 2 {
		t.Errorf("all flows on %d worker(s); the hash does not spread", len(used))
	}
}

func TestPortFilterKeepsEveryMonitoredPacket(t *testing.T) {
	t.Parallel()
	prog, err := PortFilter([]uint16{443, 8443}, []uint16{443})
	if err != nil {
		t.Fatal(err)
	}
	insns := make([]bpf.Instruction, len(prog))
	for i, r := range prog {
		insns[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443, 8443}, UDPPorts: []uint16{443}})
	for _, name := range []string{"ethernet", "vlan", "qinq"} {
		src, err := OpenFiles([]string{filepath.Join("testdata", "link-"+name+".pcap")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		kept, dropped := 0, 0
		for _, f := range readAll(t, src) {
			n, err := vm.Run(f.Data)
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			r := d.Decode(&f, &p)
			if n == 0 {
				dropped++
				if r == ResultOK || r == ResultFragment {
					t.Errorf("%s: filter dropped a %s frame %s:%d > %s:%d", name, r, p.Src, p.SrcPort, p.Dst, p.DstPort)
				}
			} else {
				kept++
			}
		}
		if name == "ethernet" && dropped == 0 {
			t.Errorf("%s: filter dropped nothing (kept %d); it filters nothing", name, kept)
		}
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	src, err := OpenFiles([]string{filepath.Join("testdata", "link-vlan.pcap")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := readAll(t, src)
	d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
	var p Packet
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		d.Decode(&frames[i%len(frames)], &p)
		i++
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.2f times per packet, want 0", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"ethernet", "qinq", "sll2"} {
		b.Run(name, func(b *testing.B) {
			src, err := OpenFiles([]string{filepath.Join("testdata", "link-"+name+".pcap")}, nil)
			if err != nil {
				b.Fatal(err)
			}
			frames := readAll(b, src)
			d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
			var p Packet
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(&frames[i%len(frames)], &p)
				i++
			}
		})
	}
}

func BenchmarkFlowHash(b *testing.B) {
	src, _ := OpenFiles([]string{filepath.Join("testdata", "link-ethernet.pcap")}, nil)
	frames := readAll(b, src)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		f := &frames[i%len(frames)]
		FlowHash(f.LinkType, f.Data)
		i++
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"ethernet", "vlan", "qinq", "sll", "sll2", "raw", "null", "truncated"} {
		src, err := OpenFiles([]string{filepath.Join("testdata", "link-"+name+".pcap")}, nil)
		if err != nil {
			f.Fatal(err)
		}
		for i, fr := range readAll(f, src) {
			if i%7 == 0 {
				f.Add(uint16(fr.LinkType), fr.Data)
			}
		}
	}
	d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		fr := Frame{Data: data, Length: len(data), LinkType: LinkType(lt), Timestamp: 1}
		var p Packet
		r := d.Decode(&fr, &p)
		if int(r) >= NumResults {
			t.Fatalf("result %d out of range", r)
		}
		FlowHash(fr.LinkType, data)
		if r != ResultOK && r != ResultOtherPort {
			return
		}
		if uint32(len(p.Payload)) > p.PayloadLen {
			t.Fatalf("payload %d bytes > announced %d", len(p.Payload), p.PayloadLen)
		}
		if p.IPLen < p.PayloadLen {
			t.Fatalf("IP length %d < payload length %d", p.IPLen, p.PayloadLen)
		}
		if len(p.Payload) > 0 && (offset(data, p.Payload) < 0 || offset(data, p.Payload)+len(p.Payload) > len(data)) {
			t.Fatal("payload outside the frame")
		}
		if !p.Src.IsValid() || !p.Dst.IsValid() {
			t.Fatal("invalid address on a decoded packet")
		}
	})
}

// TestShardEarlyClose closes the shards while the reader is still busy, as
// a cancelled replay does; the race detector checks that the source is not
// closed under a running Read.
func TestShardEarlyClose(t *testing.T) {
	t.Parallel()
	files := []string{}
	for range 20 {
		files = append(files, filepath.Join("testdata", "link-ethernet.pcap"))
	}
	src, err := OpenFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	shards := Shard(src, ShardConfig{Workers: 2, BatchFrames: 8})
	var f Frame
	for i := 0; i < 10; i++ {
		if err := shards[0].Read(&f); err != nil && !errors.Is(err, ErrTimeout) {
			break
		}
	}
	for _, sh := range shards {
		if err := sh.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range shards {
		for i := 0; ; i++ {
			err := sh.Read(&f)
			if errors.Is(err, ErrClosed) || errors.Is(err, io.EOF) {
				break
			}
			if i > 1_000_000 {
				t.Fatal("shard keeps returning frames after Close")
			}
		}
	}
}

// TestShardCloseAfterEOF: workers that close their shard as soon as they
// see the end must not cut off the others (each must still get all of its
// frames).
func TestShardCloseAfterEOF(t *testing.T) {
	t.Parallel()
	files := []string{filepath.Join("testdata", "link-ethernet.pcap"), filepath.Join("testdata", "link-qinq.pcap")}
	src, _ := OpenFiles(files, nil)
	want := len(readAll(t, src))
	for range 20 {
		src, _ := OpenFiles(files, nil)
		shards := Shard(src, ShardConfig{Workers: 3, BatchFrames: 4, TickNanos: 1e6})
		counts := make(chan int, len(shards))
		for _, sh := range shards {
			go func() {
				n := 0
				var f Frame
				for {
					err := sh.Read(&f)
					if errors.Is(err, ErrTimeout) {
						continue
					}
					if err != nil {
						break
					}
					n++
				}
				sh.Close()
				counts <- n
			}()
		}
		total := 0
		for range shards {
			total += <-counts
		}
		if total != want {
			t.Fatalf("shards delivered %d frames, want %d", total, want)
		}
	}
}

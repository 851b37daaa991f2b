package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// StdinPath is the file name that reads a capture from standard input.
const StdinPath = "-"

// FileSource reads pcap and pcapng files, plain or gzip-compressed, one
// after the other as one continuous capture. It is pure Go (pcap records
// and pcapng blocks are read in place from the read buffer) and needs no
// privileges.
//
// A FileSource is not safe for concurrent use, except for Progress, which
// any goroutine may call.
type FileSource struct {
	paths []string
	stdin io.Reader
	next  int

	closer io.Closer
	pcap   *pcapReader
	ng     *ngReader
	link   LinkType

	total    int64        // sum of file sizes, or -1 when unknown (stdin, pipes)
	read     atomic.Int64 // bytes read from the files, before decompression
	warnings []error

	damage     Damage       // repairs and skips in damaged records, all files
	fileDamage DamageCounts // damage when the current file was opened
}

// ErrNotCapture means a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrDamaged is wrapped by the warning about a file in which damaged
// records were repaired or skipped.
var ErrDamaged = errors.New("damaged records")

// OpenFiles checks that every path can be read and returns a source that
// reads them in order. The path "-" reads stdin. Problems with several
// paths are reported together.
func OpenFiles(paths []string, stdin io.Reader) (*FileSource, error) {
	if len(paths) == 0 {
		return nil, errors.New("no capture file given")
	}
	s := &FileSource{paths: paths, stdin: stdin}
	var errs []error
	for _, p := range paths {
		if p == StdinPath {
			s.total = -1
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("capture file %q: %w", p, err))
		case fi.IsDir():
			errs = append(errs, fmt.Errorf("capture file %q: is a directory", p))
		case s.total >= 0:
			if fi.Mode().IsRegular() {
				s.total += fi.Size()
			} else {
				s.total = -1
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := s.openNext(); err != nil {
		return nil, err
	}
	return s, nil
}

// Progress returns how many bytes of the input files have been read (before
// decompression) and their total size, which is -1 when unknown. Safe for
// concurrent use.
func (s *FileSource) Progress() (done, total int64) {
	return s.read.Load(), s.total
}

// Warnings returns problems that did not stop the reading, such as a file
// whose last record was cut short, or one with damaged records (one
// warning per file, wrapping [ErrDamaged]). Call it after Read returned
// io.EOF.
func (s *FileSource) Warnings() []error { return s.warnings }

// Damage returns how many damaged records were repaired and how many
// stretches and bytes were skipped to resynchronise, over all files so far.
// Safe for concurrent use.
func (s *FileSource) Damage() DamageCounts { return s.damage.Load() }

func (s *FileSource) openNext() error {
	if s.closer != nil {
		_ = s.closer.Close()
		s.closer = nil
	}
	if s.next >= len(s.paths) {
		return io.EOF
	}
	path := s.paths[s.next]
	s.next++
	var raw io.Reader
	if path == StdinPath {
		if s.stdin == nil {
			return errors.New("capture file \"-\": no standard input")
		}
		raw = s.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open capture %q: %w", path, err)
		}
		s.closer = f
		raw = f
	}
	br := bufio.NewReaderSize(&countingReader{r: raw, n: &s.read}, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("open capture %q: gzip: %w", path, err)
		}
		br = bufio.NewReaderSize(gz, 1<<20)
	}
	hdr, err := br.Peek(24)
	if len(hdr) < 4 {
		if err == nil || errors.Is(err, io.EOF) {
			err = ErrNotCapture
		}
		return fmt.Errorf("open capture %q: %w", path, err)
	}
	s.pcap, s.ng = nil, nil
	s.fileDamage = s.damage.Load()
	switch binary.BigEndian.Uint32(hdr) {
	case 0x0a0d0d0a:
		ng, err := newNgReader(br, &s.damage)
		if err != nil {
			return fmt.Errorf("open capture %q: pcapng: %w", path, err)
		}
		s.ng = ng
	case 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1:
		if len(hdr) < 24 {
			return fmt.Errorf("open capture %q: pcap header cut short", path)
		}
		// pcapgo narrows the link type to a byte; read the full value.
		lt := binary.LittleEndian.Uint32(hdr[20:24])
		if hdr[0] == 0xa1 {
			lt = binary.BigEndian.Uint32(hdr[20:24])
		}
		s.link = LinkType(lt & 0x0fffffff) // the top bits carry FCS flags
		r, err := newPCAPReader(br, &s.damage)
		if err != nil {
			return fmt.Errorf("open capture %q: pcap: %w", path, err)
		}
		s.pcap = r
	default:
		return fmt.Errorf("open capture %q: %w", path, ErrNotCapture)
	}
	return nil
}

// Read implements Source. It returns io.EOF after the last file.
func (s *FileSource) Read(f *Frame) error {
	for {
		if s.pcap == nil && s.ng == nil {
			return io.EOF
		}
		var err error
		if s.pcap != nil {
			data, ts, length, rerr := s.pcap.next()
			if rerr == nil {
				f.Data, f.Timestamp, f.Length, f.LinkType = data, ts, length, s.link
				return nil
			}
			err = rerr
		} else {
			data, ts, length, link, rerr := s.ng.next()
			if rerr == nil {
				f.Data, f.Timestamp, f.Length, f.LinkType = data, ts, length, link
				return nil
			}
			err = rerr
		}
		if !errors.Is(err, io.EOF) {
			// A record cut short at the end of a file is common when a
			// capture was interrupted; keep what was read and go on.
			s.warnings = append(s.warnings, fmt.Errorf("capture %q: %w", s.paths[s.next-1], err))
		}
		if d := s.damage.Load().sub(s.fileDamage); d.Any() {
			s.warnings = append(s.warnings, fmt.Errorf("capture %q: %w: %d repaired, %d stretches of %d bytes skipped",
				s.paths[s.next-1], ErrDamaged, d.Repaired, d.SkippedRecords, d.SkippedBytes))
		}
		s.pcap, s.ng = nil, nil
		if err := s.openNext(); err != nil {
			return err
		}
	}
}

// Close implements Source.
func (s *FileSource) Close() error {
	s.pcap, s.ng = nil, nil
	s.next = len(s.paths)
	if s.closer != nil {
		err := s.closer.Close()
		s.closer = nil
		return err
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

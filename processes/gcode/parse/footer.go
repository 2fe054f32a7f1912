package parse

import (
	"bufio"
	"fmt"
	"io"
)

// FooterBytes is how much of a file's end ReadFooter reads: PrusaSlicer's
// settings block is 20–60 KB, SuperSlicer's and OrcaSlicer's larger.
const FooterBytes = 256 << 10

// ReadFooter reads the "; key = value" settings a slicer writes at the end
// of a file (PrusaSlicer, SuperSlicer, OrcaSlicer, Bambu Studio, Slic3r) so
// that a caller can use them before it streams the file from the start —
// the time model needs the machine limits the slicer assumed before the
// first move. It reads at most the last FooterBytes of r (size bytes long),
// starting at the first whole line, and looks only at comment lines; it
// returns an empty map when there is no settings block. Only the settings of the last MaxConfigKeys distinct
// keys are kept, as Meta does.
func ReadFooter(r io.ReaderAt, size int64) (map[string]string, error) {
	if size <= 0 {
		return map[string]string{}, nil
	}
	off := max(size-FooterBytes, 0)
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	var (
		m     Meta
		l     Line
		first = off > 0 // the first line may be cut: skip it
	)
	for {
		raw, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // not a settings line: skip the rest of it
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			first = false
			continue
		}
		if len(raw) > 0 && !first && raw[0] == ';' {
			n := len(raw)
			for n > 0 && (raw[n-1] == '\n' || raw[n-1] == '\r') {
				n--
			}
			if LexLine(raw[:n], &l) == nil {
				m.Observe(&l)
			}
		}
		first = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read settings footer: %w", err)
		}
	}
	if m.Config == nil {
		m.Config = map[string]string{}
	}
	return m.Config, nil
}

package message

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
)

// Bounds on the look inside an archive. Nothing is unpacked but the
// directory; a zip inside a zip is inflated once, to at most
// maxNestedZipBytes, so no archive (a zip bomb included) costs more than
// reading its directory and that many bytes.
const (
	// MaxArchiveEntries bounds the entry names read per archive, nested
	// archives included.
	MaxArchiveEntries = 256
	maxNestedZips     = 4
	maxNestedZipBytes = 1 << 20
	maxEntryName      = 512
)

// Archive is what an archive attachment's directory says.
type Archive struct {
	// Entries are the names found, at most MaxArchiveEntries, those of
	// archives nested one level deep included (with In set).
	Entries []ArchiveEntry
	// Files counts the files (not directories) at the top level.
	Files int
	// Encrypted tells that an entry is password-protected (zip general
	// purpose flag bit 0, APPNOTE.TXT §4.4.4).
	Encrypted bool
	// More tells that the entry bound was reached.
	More bool
	// Malformed tells that the directory could not be read and the names
	// came from a scan of local file headers (a truncated or broken zip).
	Malformed bool
}

// ArchiveEntry is one name in an archive.
type ArchiveEntry struct {
	Name string
	// In is the nested archive that holds the entry; "" at the top level.
	In        string
	Encrypted bool
	Dir       bool
}

// Zip record signatures and fixed sizes (PKWARE APPNOTE.TXT §4.3).
const (
	sigLocal     = "PK\x03\x04"
	sigCentral   = "PK\x01\x02"
	sigEnd       = "PK\x05\x06"
	localLen     = 30
	centralLen   = 46
	endLen       = 22
	maxEndSearch = endLen + 0xffff // the end record plus the longest comment
)

// PeekZip reads the entry names of a zip held (perhaps only in part) in
// data: from the central directory when it is there, else from the local
// file headers. It never inflates entries except one nested zip level, and
// never panics on hostile input.
func PeekZip(data []byte) *Archive {
	a := &Archive{}
	nested := 0
	peekZip(data, a, "", &nested)
	return a
}

// peekZip adds data's entries to a; in names the nested archive ("" for
// the top level).
func peekZip(data []byte, a *Archive, in string, nested *int) {
	entries, ok := centralDirectory(data, a, in)
	if !ok {
		if in == "" {
			a.Malformed = true
		}
		entries = localHeaders(data, a, in)
	}
	if in != "" {
		return
	}
	for _, e := range entries {
		if *nested >= maxNestedZips || a.More {
			return
		}
		if e.encrypted || !isArchiveName(e.name) {
			continue
		}
		inner := inflateEntry(data, e)
		if sniffContent(inner) != "zip" {
			continue
		}
		*nested++
		peekZip(inner, a, e.name, nested)
	}
}

// zipEntry is where an entry's data is, for the one nested level read.
type zipEntry struct {
	name      string
	encrypted bool
	method    uint16
	local     int64 // offset of its local header, -1 when unknown
	compSize  int64
}

// centralDirectory reads the names from the central directory; ok is
// false when there is no readable one.
func centralDirectory(data []byte, a *Archive, in string) (entries []zipEntry, ok bool) {
	end := bytes.LastIndex(data[max(0, len(data)-maxEndSearch):], []byte(sigEnd))
	if end < 0 {
		return nil, false
	}
	end += max(0, len(data)-maxEndSearch)
	if end+endLen > len(data) {
		return nil, false
	}
	rec := data[end:]
	count := int(binary.LittleEndian.Uint16(rec[10:]))
	size := int64(binary.LittleEndian.Uint32(rec[12:]))
	off := int64(binary.LittleEndian.Uint32(rec[16:]))
	// Data before the archive (a self-extractor's stub) shifts every
	// offset; archive/zip corrects for it the same way.
	base := int64(end) - size - off
	if base < 0 {
		base = 0
	}
	pos := base + off
	if pos < 0 || pos > int64(end) {
		return nil, false
	}
	for i := 0; i < count; i++ {
		if pos+centralLen > int64(len(data)) || string(data[pos:pos+4]) != sigCentral {
			return entries, i > 0
		}
		h := data[pos:]
		flags := binary.LittleEndian.Uint16(h[8:])
		method := binary.LittleEndian.Uint16(h[10:])
		comp := int64(binary.LittleEndian.Uint32(h[20:]))
		nameLen := int64(binary.LittleEndian.Uint16(h[28:]))
		extraLen := int64(binary.LittleEndian.Uint16(h[30:]))
		commentLen := int64(binary.LittleEndian.Uint16(h[32:]))
		local := int64(binary.LittleEndian.Uint32(h[42:]))
		if pos+centralLen+nameLen > int64(len(data)) {
			return entries, i > 0
		}
		name := data[pos+centralLen : pos+centralLen+nameLen]
		e := zipEntry{name: entryName(name), encrypted: flags&1 != 0, method: method, local: base + local, compSize: comp}
		if !a.add(e, in) {
			return entries, true
		}
		entries = append(entries, e)
		pos += centralLen + nameLen + extraLen + commentLen
	}
	return entries, true
}

// localHeaders scans for local file headers, for an archive whose end
// (and so its directory) is missing.
func localHeaders(data []byte, a *Archive, in string) []zipEntry {
	var entries []zipEntry
	for pos := 0; pos+localLen <= len(data); {
		i := bytes.Index(data[pos:], []byte(sigLocal))
		if i < 0 || pos+i+localLen > len(data) {
			break
		}
		pos += i
		h := data[pos:]
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		comp := int64(binary.LittleEndian.Uint32(h[18:]))
		nameLen := int(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int(binary.LittleEndian.Uint16(h[28:]))
		if pos+localLen+nameLen > len(data) {
			break
		}
		e := zipEntry{name: entryName(h[localLen : localLen+nameLen]), encrypted: flags&1 != 0,
			method: method, local: int64(pos), compSize: comp}
		if !a.add(e, in) {
			break
		}
		entries = append(entries, e)
		next := int64(pos) + localLen + int64(nameLen) + int64(extraLen)
		if flags&8 == 0 { // sizes known here, not in a data descriptor after the data
			next += comp
		}
		if next <= int64(pos) || next > int64(len(data)) {
			next = int64(pos) + 4
		}
		pos = int(next)
	}
	return entries
}

// add records an entry; false when the entry bound is reached.
func (a *Archive) add(e zipEntry, in string) bool {
	if len(a.Entries) >= MaxArchiveEntries {
		a.More = true
		return false
	}
	dir := strings.HasSuffix(e.name, "/")
	a.Entries = append(a.Entries, ArchiveEntry{Name: e.name, In: in, Encrypted: e.encrypted, Dir: dir})
	if e.encrypted {
		a.Encrypted = true
	}
	if in == "" && !dir {
		a.Files++
	}
	return true
}

// entryName makes a stored name readable: zip names are UTF-8 or CP437;
// toUTF8 reads the other bytes as Windows-1252, near enough for the
// extensions that matter.
func entryName(b []byte) string {
	if len(b) > maxEntryName {
		b = b[:maxEntryName]
	}
	return strings.ReplaceAll(toUTF8(b), "\\", "/")
}

// inflateEntry returns the first maxNestedZipBytes of an entry's data
// (stored or deflated), or nil.
func inflateEntry(data []byte, e zipEntry) []byte {
	if e.local < 0 || e.local+localLen > int64(len(data)) || string(data[e.local:e.local+4]) != sigLocal {
		return nil
	}
	h := data[e.local:]
	start := e.local + localLen + int64(binary.LittleEndian.Uint16(h[26:])) + int64(binary.LittleEndian.Uint16(h[28:]))
	if start > int64(len(data)) {
		return nil
	}
	end := int64(len(data))
	if e.compSize > 0 && start+e.compSize < end {
		end = start + e.compSize
	}
	body := bytes.NewReader(data[start:end])
	var r io.Reader
	switch e.method {
	case 0:
		r = body
	case 8:
		fr := flate.NewReader(body)
		defer fr.Close()
		r = fr
	default:
		return nil
	}
	out, _ := io.ReadAll(io.LimitReader(r, maxNestedZipBytes))
	return out
}

// isArchiveName tells a file name of an archive or disk image by its
// extension.
func isArchiveName(name string) bool {
	switch FileExt(name) {
	case ".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".iso", ".img", ".cab", ".arj", ".lzh", ".ace", ".xz", ".bz2", ".z", ".vhd", ".vhdx":
		return true
	}
	return false
}

// peekGzip reads the original file name a gzip member may carry (RFC 1952
// §2.3.1 FNAME); it inflates nothing.
func peekGzip(data []byte) *Archive {
	a := &Archive{}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		a.Malformed = true
		return a
	}
	defer zr.Close()
	if zr.Name != "" {
		a.add(zipEntry{name: entryName([]byte(zr.Name))}, "")
	}
	return a
}

package contacts

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// decode turns the bytes of a CSV file into UTF-8 text with '\n' line ends
// (a file using old Mac '\r' line ends is converted). It accepts UTF-8 with or
// without BOM, UTF-16 with BOM (Excel "Unicode text"), and Windows-1252 (Excel
// "CSV" on a French Windows) when the bytes are not UTF-8 and contain no UTF-8
// multi-byte sequence at all: a file mixing both is rejected rather than read
// as mojibake.
func decode(b []byte) (text string, encoding string, err error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b, encoding = b[3:], "utf-8"
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		encoding = "utf-16be"
		if b[0] == 0xFF {
			encoding = "utf-16le"
		}
		// The decoder reads the BOM, and replaces invalid sequences with U+FFFD.
		b, err = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
		if err != nil {
			return "", "", &FormatError{Reason: "invalid UTF-16: " + err.Error()}
		}
	default:
		encoding = "utf-8"
	}
	if encoding == "utf-8" && !utf8.Valid(b) {
		bad, multibyte := firstInvalidUTF8(b)
		if multibyte {
			return "", "", &FormatError{Line: lineAt(b, bad),
				Reason: "invalid UTF-8 in a file that also has valid UTF-8 accents (mixed encodings); save the file again as \"CSV UTF-8\""}
		}
		if i := undefined1252(b); i >= 0 {
			return "", "", &FormatError{Line: lineAt(b, i),
				Reason: "the file is neither UTF-8 nor Windows-1252; save it as \"CSV UTF-8\""}
		}
		b, err = charmap.Windows1252.NewDecoder().Bytes(b)
		if err != nil {
			return "", "", &FormatError{Reason: "windows-1252: " + err.Error()}
		}
		encoding = "windows-1252"
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return "", "", &FormatError{Line: lineAt(b, i),
			Reason: "NUL byte: this is not a CSV text file (an .xlsx? UTF-16 without BOM?); export the sheet as \"CSV UTF-8\""}
	}
	if bytes.IndexByte(b, '\n') < 0 {
		b = bytes.ReplaceAll(b, []byte{'\r'}, []byte{'\n'})
	}
	return string(b), encoding, nil
}

// firstInvalidUTF8 returns the offset of the first byte that is not valid
// UTF-8, and whether b also holds a valid multi-byte sequence.
func firstInvalidUTF8(b []byte) (bad int, multibyte bool) {
	bad = -1
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			if bad < 0 {
				bad = i
			}
		} else {
			multibyte = true
		}
		i += n
	}
	return bad, multibyte
}

// lineAt returns the 1-based line of byte offset i.
func lineAt(b []byte, i int) int { return bytes.Count(b[:i], []byte{'\n'}) + 1 }

// undefined1252 returns the offset of the first byte that Windows-1252 leaves
// undefined, or -1.
func undefined1252(b []byte) int {
	for i, c := range b {
		switch c {
		case 0x81, 0x8D, 0x8F, 0x90, 0x9D:
			return i
		}
	}
	return -1
}

package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fn.zip")
	if err := write(out, bin); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("files %v", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || !f.Mode().IsRegular() {
		t.Errorf("mode %v, want -rwxr-xr-x", f.Mode())
	}
	if f.CreatorVersion>>8 != 3 {
		t.Errorf("creator OS %d, want 3 (Unix) so the mode is honoured", f.CreatorVersion>>8)
	}
	rc, _ := f.Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "\x7fELF fake binary" {
		t.Errorf("content %q", b)
	}
	if err := write(filepath.Join(dir, "x.zip"), filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing input was accepted")
	}
}

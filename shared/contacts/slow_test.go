package contacts
import ("testing";"os";"path/filepath";"time";"bytes";"strconv";"fmt")
func TestSlowCorpus(t *testing.T){
	files,_ := filepath.Glob(os.Getenv("CORPUS")+"/*")
	var worst time.Duration; var wf string
	for _, p := range files {
		b,_ := os.ReadFile(p)
		// format: go test fuzz v1\n[]byte("...")
		lines := bytes.SplitN(b, []byte("\n"), 2)
		s := string(bytes.TrimSpace(lines[1]))
		s = s[len("[]byte("):len(s)-1]
		u, err := strconv.Unquote(s); if err != nil { t.Fatal(p, err) }
		st := time.Now(); Read(bytes.NewReader([]byte(u))); d := time.Since(st)
		if d > worst { worst, wf = d, fmt.Sprintf("%s len=%d", p, len(u)) }
	}
	fmt.Println(worst, wf)
}

package functions_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// root is the repository root (tests run in functions/).
const root = ".."

const fnType = "AWS::Serverless::Function"

func template(t *testing.T) map[string]any {
	t.Helper()
	return loadTemplate(t, filepath.Join(root, "template.yaml"))
}

// functionsOf returns the template's functions by logical id, sorted.
func functionsOf(tpl map[string]any) []string {
	var ids []string
	for id, r := range getMap(tpl, "Resources") {
		if getString(r, "Type") == fnType {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestTemplateGlobals(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	if getString(tpl, "Transform") != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v", get(tpl, "Transform"))
	}
	g := getMap(tpl, "Globals", "Function")
	if getString(g, "Runtime") != "provided.al2023" || getString(g, "Handler") != "bootstrap" {
		t.Errorf("Globals.Function Runtime %v Handler %v", g["Runtime"], g["Handler"])
	}
	if a, _ := g["Architectures"].([]any); !slices.Equal(a, []any{"arm64"}) {
		t.Errorf("Globals.Function.Architectures = %v", g["Architectures"])
	}
	ids := functionsOf(tpl)
	if len(ids) == 0 {
		t.Fatal("no function")
	}
	for _, id := range ids {
		p := getMap(tpl, "Resources", id, "Properties")
		// A function may not override the runtime, handler or architecture.
		for _, k := range []string{"Runtime", "Handler", "Architectures", "PackageType", "ImageUri", "InlineCode"} {
			if _, ok := p[k]; ok {
				t.Errorf("%s overrides %s", id, k)
			}
		}
		if m := getString(tpl, "Resources", id, "Metadata", "BuildMethod"); m != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", id, m)
		}
		if _, ok := getInt(p, "Timeout"); !ok {
			if _, ok := getInt(g, "Timeout"); !ok {
				t.Errorf("%s: no Timeout", id)
			}
		}
	}
}

// notYet lists the functions of template.yaml whose folder may still be
// missing, with why. Remove an entry when its folder is written.
var notYet = map[string]string{}

var fnFolder = regexp.MustCompile(`\./functions/([a-z0-9_-]+)\b`)

// TestTemplateBuilds checks each function against the Makefile and the
// folders, and builds it the way `sam build` does.
func TestTemplateBuilds(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tpl := template(t)
	deployed := map[string]string{} // folder → logical id
	for _, id := range functionsOf(tpl) {
		codeURI := getString(tpl, "Resources", id, "Properties", "CodeUri")
		if codeURI == "" {
			t.Errorf("%s: no CodeUri", id)
			continue
		}
		if st, err := os.Stat(filepath.Join(root, codeURI)); err != nil || !st.IsDir() {
			t.Errorf("%s: CodeUri %q is not a folder", id, codeURI)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, codeURI, "Makefile")); err != nil {
			t.Errorf("%s: no Makefile in CodeUri %q", id, codeURI)
			continue
		}
		// What `sam build` runs: make build-<LogicalId> ARTIFACTS_DIR=…
		art := t.TempDir()
		out, err := exec.Command("make", "-s", "-n", "-C", filepath.Join(root, codeURI), "build-"+id, "ARTIFACTS_DIR="+art).CombinedOutput()
		if err != nil {
			t.Errorf("%s: the Makefile has no target build-%s: %v\n%s", id, id, err, out)
			continue
		}
		cmd := string(out)
		for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "-o " + art + "/bootstrap"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: build-%s does not use %q: %s", id, id, want, cmd)
			}
		}
		m := fnFolder.FindStringSubmatch(cmd)
		if m == nil {
			t.Errorf("%s: build-%s builds no ./functions/<name>: %s", id, id, cmd)
			continue
		}
		folder := m[1]
		if other, dup := deployed[folder]; dup {
			t.Errorf("%s and %s both build functions/%s", other, id, folder)
		}
		deployed[folder] = id
		if _, err := os.Stat(filepath.Join(root, "functions", folder, "main.go")); err != nil {
			if why, ok := notYet[folder]; ok {
				t.Logf("%s: functions/%s not written yet (%s)", id, folder, why)
				continue
			}
			t.Errorf("%s: functions/%s/main.go: %v", id, folder, err)
			continue
		}
		if testing.Short() {
			continue
		}
		if out, err := exec.Command("make", "-s", "-C", filepath.Join(root, codeURI), "build-"+id, "ARTIFACTS_DIR="+art).CombinedOutput(); err != nil {
			t.Errorf("%s: make build-%s: %v\n%s", id, id, err, out)
			continue
		}
		checkLambdaBinary(t, id, filepath.Join(art, "bootstrap"))
	}
	// Every function folder is deployed.
	mains, _ := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	for _, m := range mains {
		folder := filepath.Base(filepath.Dir(m))
		if _, ok := deployed[folder]; !ok {
			t.Errorf("functions/%s is not in template.yaml", folder)
		}
	}
}

// checkLambdaBinary checks that path is an executable static linux/arm64
// ELF file.
func checkLambdaBinary(t *testing.T, id, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s: bootstrap is not executable (%v)", id, st.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: bootstrap: %v", id, err)
		return
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: bootstrap is %v/%v, want linux arm64", id, f.Machine, f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: bootstrap is dynamically linked (CGO_ENABLED=0 missing?)", id)
		}
	}
}

// TestTemplateQueues checks every SQS event source: its queue has a
// dead-letter queue, a visibility timeout of at least 6 × the function's
// timeout, and the function reports partial batch failures.
func TestTemplateQueues(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	res := getMap(tpl, "Resources")
	sources := 0
	for _, id := range functionsOf(tpl) {
		timeout, ok := getInt(res[id], "Properties", "Timeout")
		if !ok {
			timeout, _ = getInt(tpl, "Globals", "Function", "Timeout")
		}
		for name, ev := range getMap(res[id], "Properties", "Events") {
			if getString(ev, "Type") != "SQS" {
				continue
			}
			sources++
			where := id + "." + name
			q := queueRef(get(ev, "Properties", "Queue"))
			if getString(res[q], "Type") != "AWS::SQS::Queue" {
				t.Errorf("%s: Queue %v is not an AWS::SQS::Queue of the template", where, get(ev, "Properties", "Queue"))
				continue
			}
			dlq := queueRef(get(res[q], "Properties", "RedrivePolicy", "deadLetterTargetArn"))
			if getString(res[dlq], "Type") != "AWS::SQS::Queue" || dlq == q {
				t.Errorf("%s: queue %s has no RedrivePolicy to a dead-letter queue", where, q)
			}
			if n, ok := getInt(res[q], "Properties", "RedrivePolicy", "maxReceiveCount"); !ok || n < 1 || n > 10 {
				t.Errorf("%s: queue %s maxReceiveCount = %v", where, q, get(res[q], "Properties", "RedrivePolicy", "maxReceiveCount"))
			}
			vis, ok := getInt(res[q], "Properties", "VisibilityTimeout")
			if !ok {
				vis = 30 // the SQS default
			}
			if vis < 6*timeout {
				t.Errorf("%s: queue %s VisibilityTimeout %d < 6 × %s Timeout %d", where, q, vis, id, timeout)
			}
			types, _ := get(ev, "Properties", "FunctionResponseTypes").([]any)
			if !slices.Contains(types, any("ReportBatchItemFailures")) {
				t.Errorf("%s: FunctionResponseTypes %v lacks ReportBatchItemFailures", where, types)
			}
			if get(ev, "Properties", "ScalingConfig", "MaximumConcurrency") == nil {
				t.Errorf("%s: no ScalingConfig.MaximumConcurrency", where)
			}
		}
	}
	if sources == 0 {
		t.Error("no SQS event source")
	}
}

// queueRef returns the logical id a queue reference names: !GetAtt Q.Arn
// or !Ref Q.
func queueRef(v any) string {
	if a, ok := get(v, "Fn::GetAtt").([]any); ok && len(a) == 2 {
		s, _ := a[0].(string)
		return s
	}
	return getString(v, "Ref")
}

func TestTemplateSchedules(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	n := 0
	for _, id := range functionsOf(tpl) {
		for name, ev := range getMap(tpl, "Resources", id, "Properties", "Events") {
			switch getString(ev, "Type") {
			case "Schedule":
				t.Errorf("%s.%s: use ScheduleV2 (EventBridge Scheduler, time zones)", id, name)
			case "ScheduleV2":
				n++
				if getString(ev, "Properties", "ScheduleExpressionTimezone") == "" {
					t.Errorf("%s.%s: no ScheduleExpressionTimezone", id, name)
				}
				if get(ev, "Properties", "ScheduleExpression") == nil {
					t.Errorf("%s.%s: no ScheduleExpression", id, name)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no ScheduleV2 event")
	}
}

// TestTemplateReferences checks that every !Ref and !GetAtt names a
// parameter, a resource, a pseudo parameter or a resource SAM generates.
func TestTemplateReferences(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	known := map[string]bool{}
	for k := range getMap(tpl, "Parameters") {
		known[k] = true
	}
	for id, r := range getMap(tpl, "Resources") {
		known[id] = true
		if getString(r, "Type") == fnType {
			if get(r, "Properties", "FunctionUrlConfig") != nil {
				known[id+"Url"] = true // SAM's AWS::Lambda::Url
			}
			known[id+"Role"] = true
		}
	}
	conds := getMap(tpl, "Conditions")
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["Ref"].(string); ok && len(v) == 1 && !strings.HasPrefix(r, "AWS::") && !known[r] {
				t.Errorf("%s: !Ref %s names nothing", path, r)
			}
			if a, ok := v["Fn::GetAtt"].([]any); ok {
				if s, _ := a[0].(string); !known[s] {
					t.Errorf("%s: !GetAtt %v names nothing", path, a)
				}
			}
			if a, ok := v["Fn::If"].([]any); ok && len(a) == 3 {
				if c, _ := a[0].(string); conds[c] == nil {
					t.Errorf("%s: !If on unknown condition %v", path, a[0])
				}
			}
			for k, e := range v {
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		}
	}
	walk("Resources", tpl["Resources"])
	walk("Outputs", tpl["Outputs"])
	walk("Globals", tpl["Globals"])

	out := get(tpl, "Outputs", "IngestFunctionUrl", "Value", "Fn::GetAtt")
	if a, _ := out.([]any); !slices.Equal(a, []any{"IngestFunctionUrl", "FunctionUrl"}) {
		t.Errorf("Outputs.IngestFunctionUrl = %v", out)
	}
}

// TestTemplateSecrets checks that no secret value is in the template and
// that the policies name their resources.
func TestTemplateSecrets(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	secretish := regexp.MustCompile(`SECRET|PASSWORD|API_KEY|TOKEN|DATABASE_URL`)
	for _, id := range functionsOf(tpl) {
		for k, v := range getMap(tpl, "Resources", id, "Properties", "Environment", "Variables") {
			if secretish.MatchString(k) {
				if !strings.HasSuffix(k, "_ARN") {
					t.Errorf("%s: variable %s holds a secret value; pass its Secrets Manager ARN (%s_ARN)", id, k, k)
				}
				if _, literal := v.(string); literal {
					t.Errorf("%s: %s is a literal, want a parameter reference", id, k)
				}
			}
		}
		if get(tpl, "Resources", id, "Properties", "Role") != nil {
			t.Errorf("%s: a Role instead of SAM policy templates", id)
		}
		for _, p := range asSlice(get(tpl, "Resources", id, "Properties", "Policies")) {
			if s, ok := p.(string); ok {
				t.Errorf("%s: managed policy %s (too broad)", id, s)
			}
			for _, st := range asSlice(get(p, "Statement")) {
				for _, r := range asSlice(get(st, "Resource")) {
					if r == "*" {
						t.Errorf("%s: a statement on Resource *", id)
					}
				}
				for _, a := range asSlice(get(st, "Action")) {
					if s, _ := a.(string); strings.Contains(s, "*") {
						t.Errorf("%s: wildcard action %s", id, s)
					}
				}
			}
		}
	}
	for name, p := range getMap(tpl, "Parameters") {
		if strings.Contains(strings.ToLower(name), "secret") || strings.Contains(strings.ToLower(name), "key") {
			if !strings.HasSuffix(name, "Arn") {
				t.Errorf("parameter %s: pass secrets as Secrets Manager ARNs", name)
			}
			if get(p, "NoEcho") == nil && get(p, "Default") != nil && getString(p, "Default") != "" {
				t.Errorf("parameter %s has a default value", name)
			}
		}
	}
}

func asSlice(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	case map[string]any:
		if a, ok := v["Fn::If"].([]any); ok && len(a) == 3 {
			return append(asSlice(a[1]), asSlice(a[2])...)
		}
	}
	return []any{v}
}

// TestTemplateFunctionURLs checks each Function URL: buffered (what
// shared/funcurl serves), an explicit AuthType, and its URL in Outputs.
// The api function, whose callers are clients' automation tools, has one,
// reads the database URL from Secrets Manager and has its rate limit set.
func TestTemplateFunctionURLs(t *testing.T) {
	t.Parallel()
	tpl := template(t)
	outputs := map[string]bool{}
	for _, o := range getMap(tpl, "Outputs") {
		if a, _ := get(o, "Value", "Fn::GetAtt").([]any); len(a) == 2 && a[1] == "FunctionUrl" {
			s, _ := a[0].(string)
			outputs[s] = true
		}
	}
	urls := 0
	for _, id := range functionsOf(tpl) {
		u := get(tpl, "Resources", id, "Properties", "FunctionUrlConfig")
		if u == nil {
			continue
		}
		urls++
		if m := getString(u, "InvokeMode"); m != "" && m != "BUFFERED" {
			t.Errorf("%s: InvokeMode %s; shared/funcurl serves BUFFERED", id, m)
		}
		if a := getString(u, "AuthType"); a != "NONE" && a != "AWS_IAM" {
			t.Errorf("%s: AuthType %q", id, a)
		}
		if !outputs[id+"Url"] {
			t.Errorf("%s: no output of its URL (!GetAtt %sUrl.FunctionUrl)", id, id)
		}
	}
	if urls < 2 {
		t.Errorf("%d Function URLs, want ingest's and api's", urls)
	}
	const api = "ApiFunction"
	if get(tpl, "Resources", api, "Properties", "FunctionUrlConfig") == nil {
		t.Fatalf("%s has no Function URL", api)
	}
	vars := getMap(tpl, "Resources", api, "Properties", "Environment", "Variables")
	for _, v := range []string{"DATABASE_URL_SECRET_ARN", "KALEADS_API_RATE", "KALEADS_API_BURST"} {
		if vars[v] == nil {
			t.Errorf("%s: no %s", api, v)
		}
	}
	if getString(vars["DATABASE_URL_SECRET_ARN"], "Ref") != "DatabaseUrlSecretArn" {
		t.Errorf("%s: DATABASE_URL_SECRET_ARN = %v", api, vars["DATABASE_URL_SECRET_ARN"])
	}
	readsSecret := false
	for _, p := range asSlice(get(tpl, "Resources", api, "Properties", "Policies")) {
		if getString(p, "AWSSecretsManagerGetSecretValuePolicy", "SecretArn", "Ref") == "DatabaseUrlSecretArn" {
			readsSecret = true
		}
	}
	if !readsSecret {
		t.Errorf("%s may not read the database URL's secret", api)
	}
}

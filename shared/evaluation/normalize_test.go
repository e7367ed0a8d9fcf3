package evaluation

import (
	"reflect"
	"testing"
)

func TestFold(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Téléphonie  Cloud", "telephonie cloud"},
		{"  ÉQUIPES\tcommerciales ", "equipes commerciales"},
		{"centre d’appels", "centre d'appels"},
		{"Cœur de métier", "coeur de metier"},
		{"Crème de la Crème", "creme de la creme"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchKeyword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value    string
		keywords []string
		want     string
		ok       bool
	}{
		{"logiciel de Téléphonie cloud", []string{"telephony", "téléphonie"}, "téléphonie", true},
		{"LOGICIEL DE TELEPHONIE", []string{"téléphonie"}, "téléphonie", true}, // accents on the keyword side only
		{"équipes commerciales", []string{"commercia"}, "commercia", true},     // plain substring: stems match
		{"Salesforce admins", []string{"sales"}, "sales", true},                // a collision the labels accept
		{"responsables des centres d’appels", []string{"centres d'appels"}, "centres d'appels", true},
		{"crm", []string{"téléphonie", "phone"}, "", false},
		{"", []string{"crm"}, "", false},
		{"crm", []string{"", "  "}, "", false}, // an empty keyword matches nothing
	}
	for _, tt := range tests {
		got, ok := MatchKeyword(tt.value, tt.keywords)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MatchKeyword(%q, %q) = %q, %v; want %q, %v", tt.value, tt.keywords, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNameTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"Qonto SAS", []string{"qonto"}},
		{"Personio SE & Co. KG", []string{"personio"}},
		{"Pleo Technologies A/S", []string{"pleo", "technologies"}},
		{"Dialpad, Inc.", []string{"dialpad"}},
		{"Xero Limited", []string{"xero"}},
		{"Kyriba Corp.", []string{"kyriba"}},
		{"Acme S.A.S.", []string{"acme"}},
		{"Acme S.A.", []string{"acme"}},
		{"Acme GmbH", []string{"acme"}},
		{"Teamtailor AB", []string{"teamtailor"}},
		{"Pipedrive OÜ", []string{"pipedrive"}},
		{"SEKOIA.IO SAS", []string{"sekoia", "io"}},
		{"Crème de la Crème", []string{"creme", "de", "la", "creme"}},
		{"SA", []string{"sa"}}, // a name made only of a legal form keeps it
		{"  ", nil},
	}
	for _, tt := range tests {
		if got := NameTokens(tt.in); !reflect.DeepEqual(got, tt.want) && (len(got) > 0 || len(tt.want) > 0) {
			t.Errorf("NameTokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameCompany(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"Qonto SAS", "Qonto", true},
		{"Personio SE & Co. KG", "Personio", true},
		{"personio", "PERSONIO SE", true},
		{"Pleo Technologies A/S", "Pleo Technologies", true},
		{"Bamboo HR LLC", "BambooHR", true}, // spacing is not a difference
		{"Crème de la Crème", "Creme de la Creme", true},
		{"Aircall Inc.", "Aircall SAS", true},
		{"Front", "FrontApp, Inc.", false}, // a different spelling must be listed in self_names
		{"Sage", "Sage Intacct", false},
		{"Salesforce", "Salesforce Commerce Cloud", false},
		{"Welcome to the Jungle", "WTTJ", false},
		{"", "", false},
		{"!!", "??", false},
	}
	for _, tt := range tests {
		if got := SameCompany(tt.a, tt.b); got != tt.want {
			t.Errorf("SameCompany(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMatchName(t *testing.T) {
	t.Parallel()
	names := []string{"Olinda SAS", "Qonto"}
	if n, ok := MatchName("OLINDA", names); !ok || n != "Olinda SAS" {
		t.Errorf("MatchName(OLINDA) = %q, %v", n, ok)
	}
	if n, ok := MatchName("Shine", names); ok {
		t.Errorf("MatchName(Shine) = %q, want no match", n)
	}
	if _, ok := MatchName("", []string{""}); ok {
		t.Error("an empty name matches nothing")
	}
}

func TestLeakReasons(t *testing.T) {
	t.Parallel()
	stems := []string{"01-saas-telephonie-rdv-qualifies", "notes"}
	tests := []struct {
		value string
		want  []string
	}{
		{"nos campagnes chez 01-saas-telephonie-rdv-qualifies ont donné", []string{`file name "01-saas-telephonie-rdv-qualifies"`}},
		{"nos campagnes chez SaaS-Téléphonie-RDV-qualifiés", []string{`file name "01-saas-telephonie-rdv-qualifies"`}},
		{"chez saas telephonie rdv qualifies", []string{`file name "01-saas-telephonie-rdv-qualifies"`}},
		{`les directions financières ">`, []string{`markup character ">"`, `markup character "\""`}},
		{"<b>CRM</b>", []string{`markup character "<"`, `markup character ">"`}},
		{"nos notes de frais", []string{`file name "notes"`}}, // a one-word stem is matched as written
		{"nos campagnes chez Appelys (téléphonie cloud)", nil},
		{"« un CRM »", nil}, // French quotes are not markup
	}
	for _, tt := range tests {
		if got := LeakReasons(tt.value, stems); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LeakReasons(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestFromClientPersona(t *testing.T) {
	t.Parallel()
	personas := []string{"VP Sales ou directeur commercial d'une scale-up SaaS", "CEO ou cofondateur d'un éditeur en série A"}
	tests := []struct {
		value string
		want  bool
	}{
		{"VP Sales ou directeur commercial d'une scale-up", true},
		{"vp sales ou directeur commercial d’une scale-up saas", true},
		{"CEO ou cofondateur d'un éditeur en série A", true},
		{"VP Sales", false}, // too short to say it was copied
		{"directeurs financiers de PME", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := FromClientPersona(tt.value, personas); got != tt.want {
			t.Errorf("FromClientPersona(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://www.Ringover.com", "ringover.com"},
		{"https://aircall.io/", "aircall.io"},
		{"payfit.com/fr", "payfit.com"},
		{"http://www.example.com:8080/x", "example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Host(tt.in); got != tt.want {
			t.Errorf("Host(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

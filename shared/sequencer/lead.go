package sequencer

// Lead is one approved email ready for a sequencer.
type Lead struct {
	Email       string
	FirstName   string
	LastName    string
	CompanyName string
	Website     string
	Subject     string // day-1 subject, sent as custom field/variable "subject"
	Body        string // day-1 body, sent as custom field/variable "email_body"
	// Extra custom fields (flat strings). "subject" and "email_body" are set from Subject/Body.
	Custom map[string]string
}

// Template variable names used by both sequencers for the day-1 email.
const (
	FieldSubject = "subject"
	FieldBody    = "email_body"
)

// CustomFields returns the flat custom map including subject and email_body.
func (l Lead) CustomFields() map[string]string {
	m := make(map[string]string, len(l.Custom)+2)
	for k, v := range l.Custom {
		m[k] = v
	}
	m[FieldSubject] = l.Subject
	m[FieldBody] = l.Body
	return m
}

// Step is one email of a sequence, sent on Day (1 = first email).
type Step struct {
	Day     int
	Subject string // empty on follow-ups threads them as replies
	Body    string
}

// PlanFollowUpDays are the plan's follow-up days.
var PlanFollowUpDays = [3]int{4, 7, 14}

// PlanSequence is the plan's sequence: day 1 uses the {{subject}} and
// {{email_body}} custom fields; follow-ups on days 4, 7 and 14 use the given texts
// (fewer texts give fewer follow-ups).
func PlanSequence(followUps ...string) []Step {
	steps := []Step{{Day: 1, Subject: "{{" + FieldSubject + "}}", Body: "{{" + FieldBody + "}}"}}
	for i, t := range followUps {
		if i >= len(PlanFollowUpDays) {
			break
		}
		steps = append(steps, Step{Day: PlanFollowUpDays[i], Body: t})
	}
	return steps
}

// Chunk splits n items into [start,end) ranges of at most size.
func Chunk(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}

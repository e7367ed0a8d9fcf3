// Package evaluation measures the emails' variables against a labelled
// evaluation set (examples/eval): it runs the set's campaign through the
// same pipeline as `kaleads generate`, joins each email to its company's
// label by website host, and computes per split (dev, heldout) and overall:
//
//   - category, persona and competitor accuracy: product_category and
//     target_persona contain one of the label's keywords (case- and
//     accent-insensitive substring); competitor_name is, once normalised
//     (case, accents, punctuation, legal suffixes), one of the acceptable
//     competitors;
//   - self-competitors and partners named as competitors: competitor_name
//     is one of the label's self_names or integrations;
//   - quotes grounded: evidence quotes kept out of all quotes given, over
//     every agent answer (Answer.Evidence holds the quotes found on the
//     scraped pages; Answer.Ungrounded those that were not);
//   - average quality, emails with a gate flag, and leaks: agent values
//     containing a case study file name or markup characters.
//
// The held-out half is for reporting only: HideHeldoutDetails keeps its
// counts and drops its per-company lines.
package evaluation

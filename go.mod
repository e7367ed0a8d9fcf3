module github.com/kaleads/kaleads

go 1.26.8

require (
	github.com/PuerkitoBio/goquery v1.13.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/sashabaranov/go-openai v1.43.0
	github.com/temoto/robotstxt v1.1.2
	golang.org/x/net v0.62.0
	golang.org/x/text v0.44.0
)

require (
	github.com/andybalholm/cascadia v1.3.4 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.25.0 // indirect
)

// Command rulecheck validates Prometheus rule files the way `promtool check rules` does (rulefmt.ParseFile:
// YAML structure, known fields, PromQL syntax, durations, label names, annotation templates), without
// building promtool and its service discovery dependencies. It prints "SUCCESS: N rules found" per file.
//
//	GOBIN=$PWD/.pullwatch/bin go install ./infra/prometheus/rulecheck   (from infra/prometheus/rulecheck: go build)
//	.pullwatch/bin/rulecheck infra/prometheus/pullwatch-rules.yaml
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	failed := false
	for _, file := range os.Args[1:] {
		rgs, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
		if len(errs) > 0 {
			failed = true
			for _, err := range errs {
				fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
			}
			continue
		}
		n := 0
		for _, g := range rgs.Groups {
			n += len(g.Rules)
		}
		fmt.Printf("%s: SUCCESS: %d rules found\n", file, n)
	}
	if failed || len(os.Args) < 2 {
		os.Exit(1)
	}
}

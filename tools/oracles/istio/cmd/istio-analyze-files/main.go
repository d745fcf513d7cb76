// Command istio-analyze-files runs every analyzer of `istioctl analyze` over YAML files with the Kubernetes objects
// in them (Namespaces, Services, Pods, Deployments, webhook configurations) taken into account. istioctl's own
// offline mode (--use-kube=false) drops those kinds from files and skips every analyzer that needs them (destination
// hosts, gateway ports and selectors, subsets, injection); this runs the same analyzers (analyzers.AllCombined) on
// the same file source with those kinds kept, as Istio's own analyzer tests do (local.IstiodAnalyzer's
// AddTestReaderKubeSource). A test oracle only: nothing of clustershift's product uses it.
//
//	istio-analyze-files [-suppress CODE=RESOURCE]... [-revision REV] FILE...
//
// prints the messages as `istioctl analyze -A -o json` does, and exits 2 when a file cannot be read or parsed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"
	istiolog "istio.io/istio/pkg/log"
)

type suppressions []local.AnalysisSuppression

func (s *suppressions) String() string { return fmt.Sprint(*s) }

func (s *suppressions) Set(value string) error {
	code, name, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("%q is not CODE=RESOURCE", value)
	}
	*s = append(*s, local.AnalysisSuppression{Code: code, ResourceName: name})
	return nil
}

func main() {
	var suppress suppressions
	flag.Var(&suppress, "suppress", "CODE=RESOURCE (glob) not to report, as istioctl analyze --suppress; repeatable")
	istioNamespace := flag.String("istio-namespace", "istio-system", "the control plane's namespace")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "istio-analyze-files: no file given")
		os.Exit(2)
	}

	// Istio's log goes to standard output by default, which is the JSON's.
	logOptions := istiolog.DefaultOptions()
	logOptions.OutputPaths = []string{"stderr"}
	logOptions.ErrorOutputPaths = []string{"stderr"}
	logOptions.SetDefaultOutputLevel(istiolog.OverrideScopeName, istiolog.ErrorLevel)
	_ = istiolog.Configure(logOptions)

	// No namespace: every namespace's messages, as `istioctl analyze -A`.
	sa := local.NewIstiodAnalyzer(analyzers.AllCombined(), "", resource.Namespace(*istioNamespace), nil)
	sa.SetSuppressions(suppress)
	var readers []local.ReaderSource
	for _, path := range flag.Args() {
		file, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "istio-analyze-files: %v\n", err)
			os.Exit(2)
		}
		defer file.Close()
		readers = append(readers, local.ReaderSource{Name: path, Reader: file})
	}
	if err := sa.AddTestReaderKubeSource(readers); err != nil {
		fmt.Fprintf(os.Stderr, "istio-analyze-files: Error(s) adding files: %v\n", err)
		os.Exit(2)
	}
	result, err := sa.Analyze(make(chan struct{}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-analyze-files: %v\n", err)
		os.Exit(2)
	}
	messages := result.Messages.SetDocRef("istioctl-analyze")
	out, err := json.MarshalIndent(messages, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-analyze-files: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(string(out))
}

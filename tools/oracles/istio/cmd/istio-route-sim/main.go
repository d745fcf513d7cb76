// Command istio-route-sim asks Istio's own code where requests go: it loads a directory of Istio and Kubernetes
// YAML into Istio's in-memory discovery server (pilot/test/xds.FakeDiscoveryServer: the real pilot config
// generation, fed from a fake Kubernetes client), builds the listeners, routes and clusters Istio would send to
// each named proxy, and runs each request through them with pilot/pkg/simulation (the simulator Istio's own tests
// use). A test oracle only: nothing of clustershift's product uses it.
//
//	istio-route-sim -config DIR -requests FILE   (FILE "-" or absent: standard input)
//
// The requests file (JSON):
//
//	{"proxies":  [{"name": "source-gateway", "type": "router", "namespace": "istio-system",
//	               "labels": {"istio": "ingressgateway"}, "ip": "10.0.0.1"}],
//	 "requests": [{"proxy": "source-gateway", "host": "shop.example.com", "port": 80, "path": "/cart"}]}
//
// prints one JSON document on standard output: the Istio objects Istio's validation rejects (left out, as istiod's
// webhook would keep them out), per proxy its listeners, and per request the listener, route
// configuration, virtual host and route matched, and every destination cluster (with its weight, whether the
// proxy has that cluster, and its endpoints), or the simulation's error ("no route matched", …).
//
// pilot/pkg/simulation and pilot/test/xds take a *testing.T (they fail the test on an internal error), so the
// work runs inside one test started with testing.Main: that gives a real T outside `go test`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config"
	istiolog "istio.io/istio/pkg/log"
)

type proxySpec struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"` // "router" (a gateway) or "sidecar"
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	IP        string            `json:"ip,omitempty"`
}

type request struct {
	Proxy string `json:"proxy"`
	Host  string `json:"host"`
	Port  int    `json:"port"`
	Path  string `json:"path"`
	// Headers of the request, matched against routes' header matchers (pilot's simulation matches by path only).
	Headers map[string]string `json:"headers,omitempty"`
}

type input struct {
	Proxies  []proxySpec `json:"proxies"`
	Requests []request   `json:"requests"`
}

type listenerOut struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Port    uint32 `json:"port"`
}

type endpointOut struct {
	Address string `json:"address"`
	Port    uint32 `json:"port"`
}

type destinationOut struct {
	Cluster string `json:"cluster"`
	// Weight out of the route's total (100 for a single cluster).
	Weight uint32 `json:"weight"`
	// Whether the proxy has this cluster at all (a route to a missing cluster answers 503).
	Known     bool          `json:"known"`
	Endpoints []endpointOut `json:"endpoints"`
}

type resultOut struct {
	request
	Listener     string           `json:"listener,omitempty"`
	RouteConfig  string           `json:"routeConfig,omitempty"`
	VirtualHost  string           `json:"virtualHost,omitempty"`
	Route        string           `json:"route,omitempty"`
	Destinations []destinationOut `json:"destinations"`
	Error        string           `json:"error,omitempty"`
}

type proxyOut struct {
	Listeners []listenerOut `json:"listeners"`
}

type rejectedOut struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Error     string `json:"error"`
}

// istioDoc is one Istio object of the config directory, as YAML.
type istioDoc struct {
	kind, namespace, name, text string
}

type output struct {
	// Configs and objects read, by kind: so a caller can tell an empty directory from a routing answer.
	Loaded map[string]int `json:"loaded"`
	// Istio objects that Istio's validation rejects (and that the simulation therefore leaves out).
	Rejected []rejectedOut       `json:"rejected"`
	Proxies  map[string]proxyOut `json:"proxies"`
	Results  []resultOut         `json:"results"`
}

// Kubernetes kinds handed to the fake Kubernetes client (service discovery); other non-Istio kinds are ignored.
var kubeKinds = map[string]bool{
	"Namespace": true, "Service": true, "Pod": true, "Endpoints": true, "EndpointSlice": true, "Node": true,
}

const domainSuffix = "cluster.local"

var istioGroups = map[string]bool{
	"networking.istio.io": true, "security.istio.io": true, "telemetry.istio.io": true,
}

func main() {
	configDir := flag.String("config", "", "directory of Istio and Kubernetes YAML (read recursively)")
	requestsFile := flag.String("requests", "-", "JSON file of proxies and requests (- for standard input)")
	testing.Init()
	flag.Parse()
	if *configDir == "" {
		fmt.Fprintln(os.Stderr, "istio-route-sim: -config DIR is required")
		os.Exit(2)
	}
	in, err := readInput(*requestsFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-route-sim: %v\n", err)
		os.Exit(2)
	}
	istioDocs, kubeObjects, loaded, err := readConfigDir(*configDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-route-sim: %v\n", err)
		os.Exit(2)
	}

	// Istio's discovery server logs every push at info; only errors are worth a caller's stderr.
	// Its default output is standard output, which is the JSON's.
	logOptions := istiolog.DefaultOptions()
	logOptions.OutputPaths = []string{"stderr"}
	logOptions.ErrorOutputPaths = []string{"stderr"}
	logOptions.SetDefaultOutputLevel(istiolog.OverrideScopeName, istiolog.ErrorLevel)
	_ = istiolog.Configure(logOptions)

	// testing prints PASS/FAIL on standard output, which is the JSON's.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	testing.Main(
		func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: "IstioRouteSim", F: func(t *testing.T) {
			out := simulate(t, istioDocs, kubeObjects, in)
			out.Loaded = loaded
			encoder := json.NewEncoder(stdout)
			encoder.SetIndent("", "  ")
			if err := encoder.Encode(out); err != nil {
				t.Fatal(err)
			}
		}}},
		nil, nil,
	)
}

func readInput(path string) (input, error) {
	var reader io.Reader = os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return input{}, err
		}
		defer file.Close()
		reader = file
	}
	var in input
	decoder := json.NewDecoder(reader)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&in); err != nil {
		return input{}, fmt.Errorf("requests: %w", err)
	}
	names := map[string]bool{}
	for _, p := range in.Proxies {
		if p.Name == "" || p.Namespace == "" {
			return input{}, fmt.Errorf("requests: every proxy needs a name and a namespace")
		}
		if p.Type != "router" && p.Type != "sidecar" {
			return input{}, fmt.Errorf("requests: proxy %s: type must be router or sidecar, got %q", p.Name, p.Type)
		}
		names[p.Name] = true
	}
	for _, r := range in.Requests {
		if !names[r.Proxy] {
			return input{}, fmt.Errorf("requests: no proxy named %q", r.Proxy)
		}
		if r.Port <= 0 {
			return input{}, fmt.Errorf("requests: a request to %s has no port", r.Host)
		}
	}
	return in, nil
}

// readConfigDir splits every YAML document under dir into Istio objects and Kubernetes objects (rejoined as the
// multi-document string FakeOptions takes).
func readConfigDir(dir string) ([]istioDoc, string, map[string]int, error) {
	var istioDocs []istioDoc
	var kubeDocs []string
	loaded := map[string]int{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		decoder := kubeyaml.NewYAMLOrJSONDecoder(file, 1<<20)
		for {
			var object map[string]any
			if err := decoder.Decode(&object); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if len(object) == 0 {
				continue
			}
			for _, item := range listItems(object) {
				apiVersion, _ := item["apiVersion"].(string)
				kind, _ := item["kind"].(string)
				group := ""
				if slash := strings.Index(apiVersion, "/"); slash >= 0 {
					group = apiVersion[:slash]
				}
				text, err := yaml.Marshal(item)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				switch {
				case istioGroups[group]:
					metadata, _ := item["metadata"].(map[string]any)
					namespace, _ := metadata["namespace"].(string)
					name, _ := metadata["name"].(string)
					istioDocs = append(istioDocs, istioDoc{kind: kind, namespace: namespace, name: name, text: string(text)})
				case kubeKinds[kind]:
					kubeDocs = append(kubeDocs, string(text))
				default:
					continue
				}
				loaded[kind]++
			}
		}
		return nil
	})
	return istioDocs, strings.Join(kubeDocs, "\n---\n"), loaded, err
}

// listItems flattens a `kind: List` (what `kubectl get -o yaml` prints) into its items.
func listItems(object map[string]any) []map[string]any {
	kind, _ := object["kind"].(string)
	if !strings.HasSuffix(kind, "List") {
		return []map[string]any{object}
	}
	items, _ := object["items"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func simulate(t *testing.T, istioDocs []istioDoc, kubeObjects string, in input) output {
	// Parsed and validated as istiod's webhook would; each config gets the cluster's domain as istiod's Kubernetes
	// config client gives it, so that short host names resolve to Services (`frontend` in namespace `shop` is
	// frontend.shop.svc.cluster.local, not frontend.shop as in a bare test store).
	// An object Istio's validation rejects is left out, as istiod's validating webhook would not let it in; the
	// output lists it with why.
	var configs []config.Config
	rejected := []rejectedOut{}
	now := time.Now()
	for _, doc := range istioDocs {
		parsed, _, err := crd.ParseInputs(doc.text)
		if err != nil {
			rejected = append(rejected, rejectedOut{Kind: doc.kind, Namespace: doc.namespace, Name: doc.name, Error: err.Error()})
			continue
		}
		for _, c := range parsed {
			c.Domain = domainSuffix
			if c.Namespace == "" {
				c.Namespace = "default"
			}
			if c.CreationTimestamp.IsZero() {
				c.CreationTimestamp = now
			}
			configs = append(configs, c)
		}
	}
	server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:                configs,
		KubernetesObjectString: kubeObjects,
	})
	out := output{Rejected: rejected, Proxies: map[string]proxyOut{}, Results: []resultOut{}}
	sims := map[string]*simulation.Simulation{}
	modes := map[string]simulation.CallMode{}
	endpoints := map[string]map[string][]endpointOut{}
	for _, spec := range in.Proxies {
		proxy := &model.Proxy{
			Type:            model.SidecarProxy,
			ConfigNamespace: spec.Namespace,
			Labels:          spec.Labels,
			Metadata:        &model.NodeMetadata{Labels: spec.Labels, Namespace: spec.Namespace},
		}
		modes[spec.Name] = simulation.CallModeOutbound
		if spec.Type == "router" {
			proxy.Type = model.Router
			modes[spec.Name] = simulation.CallModeGateway
		}
		if spec.IP != "" {
			proxy.IPAddresses = []string{spec.IP}
		}
		proxy = server.SetupProxy(proxy)
		sim := simulation.NewSimulation(t, server, proxy)
		sims[spec.Name] = sim
		endpoints[spec.Name] = clusterEndpoints(sim.Clusters, server.Endpoints(proxy))
		var listeners []listenerOut
		for _, l := range sim.Listeners {
			address := l.GetAddress().GetSocketAddress()
			listeners = append(listeners, listenerOut{Name: l.GetName(), Address: address.GetAddress(), Port: address.GetPortValue()})
		}
		sort.Slice(listeners, func(i, j int) bool { return listeners[i].Name < listeners[j].Name })
		out.Proxies[spec.Name] = proxyOut{Listeners: listeners}
	}
	for _, req := range in.Requests {
		sim := sims[req.Proxy]
		result := sim.Run(simulation.Call{
			Port:       req.Port,
			Path:       req.Path,
			HostHeader: req.Host,
			Protocol:   simulation.HTTP,
			CallMode:   modes[req.Proxy],
		})
		res := resultOut{
			request:      req,
			Listener:     result.ListenerMatched,
			RouteConfig:  result.RouteConfigMatched,
			VirtualHost:  result.VirtualHostMatched,
			Route:        result.RouteMatched,
			Destinations: []destinationOut{},
		}
		if result.Error != nil {
			res.Error = result.Error.Error()
			out.Results = append(out.Results, res)
			continue
		}
		known := endpoints[req.Proxy]
		destination := func(name string, weight uint32) destinationOut {
			eps, ok := known[name]
			if eps == nil {
				eps = []endpointOut{}
			}
			return destinationOut{Cluster: name, Weight: weight, Known: ok, Endpoints: eps}
		}
		if result.ClusterMatched != "" && result.RouteMatched == "" {
			res.Destinations = append(res.Destinations, destination(result.ClusterMatched, 100))
		} else if r, err := matchedRoute(sim, result, req); err != nil {
			res.Error = err.Error()
		} else if r == nil {
			res.Route = ""
			res.Error = "no route matched"
		} else if res.Route = r.GetName(); r.GetRoute().GetCluster() != "" {
			res.Destinations = append(res.Destinations, destination(r.GetRoute().GetCluster(), 100))
		} else if weighted := r.GetRoute().GetWeightedClusters(); weighted != nil {
			for _, c := range weighted.GetClusters() {
				res.Destinations = append(res.Destinations, destination(c.GetName(), c.GetWeight().GetValue()))
			}
		} else if r.GetDirectResponse() != nil {
			res.Error = fmt.Sprintf("direct response %d", r.GetDirectResponse().GetStatus())
		} else if r.GetRedirect() != nil {
			res.Error = "redirect"
		}
		out.Results = append(out.Results, res)
	}
	return out
}

// matchedRoute finds the route a request takes, for what Result does not carry: the weighted clusters of a split
// route, and the request's headers. The simulation matches by path only, first route first; this matches by path
// and by the route's header matchers (as Envoy does), so the route's name must agree with the simulation's unless
// a route was passed over for its headers. Nil when the headers leave no route.
func matchedRoute(sim *simulation.Simulation, result simulation.Result, req request) (*route.Route, error) {
	rc := xdstest.ExtractRouteConfigurations(sim.Routes)[result.RouteConfigMatched]
	for _, vh := range rc.GetVirtualHosts() {
		if vh.GetName() != result.VirtualHostMatched {
			continue
		}
		path := req.Path
		if path == "" {
			path = "/"
		}
		passedOver := false
		for _, r := range vh.GetRoutes() {
			if pathMatches(r.GetMatch(), path) && !headersMatch(r.GetMatch().GetHeaders(), req.Headers) {
				passedOver = true
				continue
			}
			if pathMatches(r.GetMatch(), path) {
				if r.GetName() != result.RouteMatched && !passedOver {
					return nil, fmt.Errorf("route %q found where the simulation matched %q", r.GetName(), result.RouteMatched)
				}
				return r, nil
			}
		}
		if passedOver {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("route %q of virtual host %q not found in %q", result.RouteMatched, result.VirtualHostMatched, result.RouteConfigMatched)
}

// headersMatch is Envoy's header matching of a route: every matcher holds (names are case-insensitive; a missing
// header fails a string match and a present match, and inverted matchers hold when the match does not).
func headersMatch(matchers []*route.HeaderMatcher, headers map[string]string) bool {
	lower := map[string]string{}
	for k, v := range headers {
		lower[strings.ToLower(k)] = v
	}
	for _, m := range matchers {
		value, present := lower[strings.ToLower(m.GetName())]
		var ok bool
		switch {
		case m.GetStringMatch() != nil:
			sm := m.GetStringMatch()
			v := value
			if sm.GetIgnoreCase() {
				v = strings.ToLower(v)
			}
			fold := func(s string) string {
				if sm.GetIgnoreCase() {
					return strings.ToLower(s)
				}
				return s
			}
			switch {
			case !present:
				ok = false
			case sm.GetSafeRegex() != nil:
				re, err := regexp.Compile("^(?:" + sm.GetSafeRegex().GetRegex() + ")$")
				ok = err == nil && re.MatchString(value)
			case sm.GetPrefix() != "":
				ok = strings.HasPrefix(v, fold(sm.GetPrefix()))
			case sm.GetSuffix() != "":
				ok = strings.HasSuffix(v, fold(sm.GetSuffix()))
			case sm.GetContains() != "":
				ok = strings.Contains(v, fold(sm.GetContains()))
			default:
				ok = v == fold(sm.GetExact())
			}
		case m.GetPresentMatch():
			ok = present
		default:
			ok = present
		}
		if ok == m.GetInvertMatch() {
			return false
		}
	}
	return true
}

func pathMatches(match *route.RouteMatch, path string) bool {
	switch p := match.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		return strings.HasPrefix(path, p.Prefix)
	case *route.RouteMatch_PathSeparatedPrefix:
		return strings.HasPrefix(path, p.PathSeparatedPrefix)
	case *route.RouteMatch_Path:
		return path == p.Path
	case *route.RouteMatch_SafeRegex:
		re, err := regexp.Compile(p.SafeRegex.GetRegex())
		return err == nil && re.MatchString(path)
	}
	return false
}

// clusterEndpoints maps each cluster the proxy has to its endpoints: from EDS for EDS clusters, else from the
// cluster's own load assignment (DNS and static clusters).
func clusterEndpoints(clusters []*cluster.Cluster, assignments []*endpoint.ClusterLoadAssignment) map[string][]endpointOut {
	out := map[string][]endpointOut{}
	add := func(name string, cla *endpoint.ClusterLoadAssignment) {
		for _, locality := range cla.GetEndpoints() {
			for _, lb := range locality.GetLbEndpoints() {
				address := lb.GetEndpoint().GetAddress().GetSocketAddress()
				if address == nil {
					continue
				}
				out[name] = append(out[name], endpointOut{Address: address.GetAddress(), Port: address.GetPortValue()})
			}
		}
	}
	for _, c := range clusters {
		out[c.GetName()] = []endpointOut{}
		if c.GetLoadAssignment() != nil {
			add(c.GetName(), c.GetLoadAssignment())
		}
	}
	for _, cla := range assignments {
		add(cla.GetClusterName(), cla)
	}
	return out
}

package svcclient_test

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/svcgen/protoc-gen-svc/svcclient"
)

var greeterPolicies = []svcclient.MethodPolicy{{
	FullMethod:  "/helloworld.Greeter/SayHello",
	Kind:        svcclient.Unary,
	Idempotency: svcclient.NoSideEffects,
	Timeout:     2 * time.Second,
	Retry:       svcclient.DefaultRetryPolicy(),
}}

func ExampleServiceConfigJSON() {
	fmt.Println(svcclient.ServiceConfigJSON(greeterPolicies))
	// Output:
	// {"methodConfig":[{"name":[{"service":"helloworld.Greeter","method":"SayHello"}],"timeout":"2s","retryPolicy":{"maxAttempts":4,"initialBackoff":"0.1s","maxBackoff":"5s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}],"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}
}

// Let grpc retry, from the service config, and keep only the wrapper's
// deadlines, so that the two layers do not multiply attempts.
func ExampleWithoutRetries() {
	cc, err := grpc.NewClient("dns:///greeter.example:443",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(svcclient.ServiceConfigJSON(greeterPolicies)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()
	inv := svcclient.NewInvoker(greeterPolicies, svcclient.WithoutRetries())
	fmt.Println(inv.Validate())
	// Output: <nil>
}

// Behaviour test of requests naming their resource in a field other than
// name, and of methods named by a collection identifier
// (testdata/protos/googleapis_pubsub, trimmed from Pub/Sub and Cloud
// Logging), served over a real gRPC connection (bufconn) and called
// through the generated wrappers.
package pubsub

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestTopicByReference(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartPublisherForTest(t, NewInMemoryPublisherSkeleton())

	const name = "projects/p/topics/orders"
	if _, err := c.CreateTopic(ctx, &Topic{Name: name, Labels: map[string]string{"team": "shop"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTopic(ctx, &GetTopicRequest{Topic: name})
	if err != nil || got.GetLabels()["team"] != "shop" {
		t.Fatalf("GetTopic(topic: %s) = %v, %v", name, got, err)
	}
	// The field carries a name of Topic's pattern, or the call is refused
	// naming it.
	_, err = c.GetTopic(ctx, &GetTopicRequest{Topic: "projects/p/subscriptions/orders"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "topic") {
		t.Fatalf("GetTopic of a subscription's name: %v", err)
	}
	if _, err := c.DeleteTopic(ctx, &DeleteTopicRequest{Topic: name}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTopic(ctx, &GetTopicRequest{Topic: name})
	wantCode(t, err, codes.NotFound)
	_, err = c.DeleteTopic(ctx, &DeleteTopicRequest{Topic: name})
	wantCode(t, err, codes.NotFound)
}

func TestSinksByCollection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartConfigServiceV2ForTest(t, NewInMemoryConfigServiceV2Skeleton())

	var names []string
	for _, parent := range []string{"projects/p", "organizations/o", "projects/p"} {
		s, err := c.CreateSink(ctx, &CreateSinkRequest{Parent: parent, Sink: &LogSink{Destination: "storage.googleapis.com/logs"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.GetName(), parent+"/sinks/") {
			t.Fatalf("a sink created under %s is named %s", parent, s.GetName())
		}
		names = append(names, s.GetName())
	}
	page, err := c.ListSinks(ctx, &ListSinksRequest{Parent: "projects/p"})
	if err != nil || len(page.GetSinks()) != 2 || page.GetSinks()[0].GetName() != names[0] || page.GetSinks()[1].GetName() != names[2] {
		t.Fatalf("ListSinks(projects/p) = %v, %v", page, err)
	}
	got, err := c.GetSink(ctx, &GetSinkRequest{SinkName: names[1]})
	if err != nil || got.GetName() != names[1] {
		t.Fatalf("GetSink = %v, %v", got, err)
	}
	_, err = c.GetSink(ctx, &GetSinkRequest{SinkName: "folders/f/sinks/x"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.CreateSink(ctx, &CreateSinkRequest{Parent: "projects/p", Sink: &LogSink{}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "destination") {
		t.Fatalf("CreateSink without its REQUIRED destination: %v", err)
	}
	if _, err := c.DeleteSink(ctx, &DeleteSinkRequest{SinkName: names[1]}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSink(ctx, &GetSinkRequest{SinkName: names[1]})
	wantCode(t, err, codes.NotFound)
}

// TestSubscriptionByNamedField: before AIP-122, a request carried the name
// of a resource without patterns in a field named after it.
func TestSubscriptionByNamedField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartSubscriberForTest(t, NewInMemorySubscriberSkeleton())
	const name = "projects/p/subscriptions/billing"
	if _, err := c.CreateSubscription(ctx, &Subscription{Name: name, Topic: "projects/p/topics/orders", AckDeadlineSeconds: 30}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSubscription(ctx, &GetSubscriptionRequest{Subscription: name})
	if err != nil || got.GetAckDeadlineSeconds() != 30 || got.GetTopic() != "projects/p/topics/orders" {
		t.Fatalf("GetSubscription(subscription: %s) = %v, %v", name, got, err)
	}
	_, err = c.GetSubscription(ctx, &GetSubscriptionRequest{Subscription: "projects/p/subscriptions/other"})
	wantCode(t, err, codes.NotFound)
	if _, err := c.DeleteSubscription(ctx, &DeleteSubscriptionRequest{Subscription: name}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSubscription(ctx, &GetSubscriptionRequest{Subscription: name})
	wantCode(t, err, codes.NotFound)
}

package svcclient

import (
	"errors"
	"math"
	"sync/atomic"
)

// throttle is the token bucket of gRFC A6, in thousandths of a token so that
// it is one atomic integer.
type throttle struct {
	tokens atomic.Int64
	max    int64 // thousandths
	ratio  int64 // thousandths
}

func (t Throttling) validate() error {
	if !(t.MaxTokens > 0) || t.MaxTokens > 1000 {
		return errors.New("svcclient: WithRetryThrottling: MaxTokens must be in (0, 1000]")
	}
	if !(t.TokenRatio > 0) || t.TokenRatio > t.MaxTokens || math.Round(t.TokenRatio*1000) < 1 {
		return errors.New("svcclient: WithRetryThrottling: TokenRatio must be in [0.001, MaxTokens]")
	}
	return nil
}

func newThrottle(t Throttling) *throttle {
	th := &throttle{max: int64(math.Round(t.MaxTokens * 1000)), ratio: int64(math.Round(t.TokenRatio * 1000))}
	th.tokens.Store(th.max)
	return th
}

// success gives back a success's share. A nil throttle does nothing.
func (t *throttle) success() {
	if t == nil {
		return
	}
	for {
		cur := t.tokens.Load()
		if cur >= t.max {
			return
		}
		if t.tokens.CompareAndSwap(cur, min(cur+t.ratio, t.max)) {
			return
		}
	}
}

// failure takes a token for a failed attempt and reports whether another
// attempt may still start. A nil throttle always allows it.
func (t *throttle) failure() bool {
	if t == nil {
		return true
	}
	for {
		cur := t.tokens.Load()
		next := max(cur-1000, 0)
		if t.tokens.CompareAndSwap(cur, next) {
			return next > t.max/2
		}
	}
}

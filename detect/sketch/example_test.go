package sketch_test

import (
	"fmt"

	"github.com/monitor443/monitor443/detect/sketch"
)

// ExampleSpaceSaving keeps the two heaviest clients of an interval. When c
// arrives the summary is full, so c replaces b (the smallest count, 1) and
// inherits that count as its error.
func ExampleSpaceSaving() {
	s, err := sketch.NewSpaceSaving[string](2)
	if err != nil {
		panic(err)
	}
	for _, k := range []string{"a", "a", "b", "c"} {
		s.Offer(k, 1)
	}
	for _, e := range s.Top(nil) {
		fmt.Printf("%s count=%d err=%d\n", e.Key, e.Count, e.Err)
	}
	// Output:
	// a count=2 err=0
	// c count=2 err=1
}

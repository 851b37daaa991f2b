package baseline

import (
	"errors"
	"fmt"
	"math"
)

func checkRange(errs []error, name string, v, lo, hi float64) []error {
	if math.IsNaN(v) || v < lo || v > hi {
		errs = append(errs, fmt.Errorf("%s: must be in [%v, %v], got %v", name, lo, hi, v))
	}
	return errs
}

func checkOpen01(errs []error, name string, v float64) []error {
	if !(v > 0 && v <= 1) {
		errs = append(errs, fmt.Errorf("%s: must be in (0, 1], got %v", name, v))
	}
	return errs
}

func checkInt(errs []error, name string, v, lo, hi int) []error {
	if v < lo || v > hi {
		errs = append(errs, fmt.Errorf("%s: must be in [%d, %d], got %d", name, lo, hi, v))
	}
	return errs
}

func checkLearn(errs []error, l Learn) []error {
	if l > LearnAll {
		errs = append(errs, fmt.Errorf("learn: unknown policy %d", l))
	}
	return errs
}

func joined(errs []error) error { return errors.Join(errs...) }

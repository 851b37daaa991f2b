package synth

import "github.com/monitor443/monitor443/capture"

type captureFrame struct{ capture.Frame }

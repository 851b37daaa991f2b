package capture

import "time"

// Paced wraps src so that frames come out at speed times the rate at which
// they were captured (speed 1 replays in real time, 2 twice as fast). It
// is for demos with live dashboards; benchmarks and tests replay unpaced.
func Paced(src Source, speed float64) Source {
	if speed <= 0 {
		return src
	}
	return &paced{src: src, speed: speed}
}

type paced struct {
	src   Source
	speed float64
	first int64     // packet time of the first frame
	wall0 time.Time // wall time when the first frame came out
}

func (p *paced) Read(f *Frame) error {
	if err := p.src.Read(f); err != nil {
		return err
	}
	if p.first == 0 {
		p.first, p.wall0 = f.Timestamp, time.Now()
		return nil
	}
	due := p.wall0.Add(time.Duration(float64(f.Timestamp-p.first) / p.speed))
	if d := time.Until(due); d > time.Millisecond {
		time.Sleep(d)
	}
	return nil
}

func (p *paced) Close() error { return p.src.Close() }

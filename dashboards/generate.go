package dashboards

//go:generate go run ./gen -out ../deploy/grafana

//go:build integration || e2e || fleet

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// promAPI runs a query of the Prometheus HTTP API (path, such as
// /api/v1/query, with its parameters) on the server at addr and decodes the
// data of a successful answer into data. The integration, end-to-end and
// fleet tests share it.
func promAPI(addr, path string, params url.Values, data any) error {
	resp, err := http.Get("http://" + addr + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s %v: %w", path, params, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, params, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

package dashboards

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana-tools/sdk"
)

const testToken = "glsa_secret-token_0123"

// fakeGrafana implements the parts of Grafana's HTTP API that Push uses, as
// documented at grafana.com/docs/grafana/latest/developers/http_api/.
type fakeGrafana struct {
	folders []sdk.Folder // existing folders
	// dashboardStatus and dashboardBody override the answer to
	// POST /api/dashboards/db when dashboardStatus is not zero.
	dashboardStatus int
	dashboardBody   string

	mu        sync.Mutex
	requests  []string         // "METHOD path"
	created   []map[string]any // bodies of POST /api/folders
	posted    []map[string]any // bodies of POST /api/dashboards/db
	badHeader []string
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Unauthorized"}`)
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
		f.badHeader = append(f.badHeader, "Content-Type: "+r.Header.Get("Content-Type"))
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"message":"bad json"}`)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/folders":
		json.NewEncoder(w).Encode(f.folders)
	case r.Method == http.MethodPost && r.URL.Path == "/api/folders":
		f.created = append(f.created, body)
		title, _ := body["title"].(string)
		json.NewEncoder(w).Encode(map[string]any{"id": 42, "uid": "nErXDvCkzz", "title": title, "url": "/dashboards/f/nErXDvCkzz/x"})
	case r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db":
		f.posted = append(f.posted, body)
		if f.dashboardStatus != 0 {
			w.WriteHeader(f.dashboardStatus)
			io.WriteString(w, f.dashboardBody)
			return
		}
		dash, _ := body["dashboard"].(map[string]any)
		uid, _ := dash["uid"].(string)
		json.NewEncoder(w).Encode(map[string]any{"id": 1, "uid": uid, "url": "/d/" + uid, "status": "success", "version": 1, "slug": uid})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not found"}`)
	}
}

func TestPush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		folders      []sdk.Folder
		folder       string
		wantRequests []string
		wantCreated  []string
		wantFolderID float64
	}{
		{
			name:         "existing folder",
			folders:      []sdk.Folder{{ID: 3, UID: "a", Title: "Other"}, {ID: 9, UID: "b", Title: "Network"}},
			folder:       "Network",
			wantRequests: []string{"GET /api/folders"},
			wantFolderID: 9,
		},
		{
			name:         "missing folder is created",
			folders:      []sdk.Folder{{ID: 3, UID: "a", Title: "Other"}},
			folder:       "Network",
			wantRequests: []string{"GET /api/folders", "POST /api/folders"},
			wantCreated:  []string{"Network"},
			wantFolderID: 42,
		},
		{
			name:         "general folder",
			folder:       "",
			wantFolderID: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeGrafana{folders: tt.folders}
			srv := httptest.NewServer(fake)
			defer srv.Close()

			boards := All()
			boards[0].ID = 5 // Push must not send or change it
			if err := Push(context.Background(), srv.Client(), srv.URL, testToken, tt.folder, boards); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if boards[0].ID != 5 {
				t.Errorf("Push changed the caller's board ID to %d", boards[0].ID)
			}

			fake.mu.Lock()
			defer fake.mu.Unlock()
			wantRequests := tt.wantRequests
			for range boards {
				wantRequests = append(wantRequests, "POST /api/dashboards/db")
			}
			if diff := cmp.Diff(wantRequests, fake.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if len(fake.badHeader) > 0 {
				t.Errorf("bad headers: %v", fake.badHeader)
			}
			var created []string
			for _, c := range fake.created {
				title, _ := c["title"].(string)
				created = append(created, title)
			}
			if diff := cmp.Diff(tt.wantCreated, created); diff != "" {
				t.Errorf("created folders (-want +got):\n%s", diff)
			}
			var uids []string
			for _, p := range fake.posted {
				if p["overwrite"] != true {
					t.Errorf("overwrite = %v, want true", p["overwrite"])
				}
				if p["folderId"] != tt.wantFolderID {
					t.Errorf("folderId = %v, want %v", p["folderId"], tt.wantFolderID)
				}
				dash, ok := p["dashboard"].(map[string]any)
				if !ok {
					t.Fatalf("payload has no dashboard object: %v", p)
				}
				if id, ok := dash["id"]; ok && id != float64(0) {
					t.Errorf("dashboard %v sent with id %v; Grafana must match it by uid", dash["uid"], id)
				}
				if panels, _ := dash["panels"].([]any); len(panels) == 0 {
					t.Errorf("dashboard %v sent without panels", dash["uid"])
				}
				uid, _ := dash["uid"].(string)
				uids = append(uids, uid)
			}
			wantUIDs := []string{"monitor443-overview", "monitor443-tls", "monitor443-detection", "monitor443-sensor-health"}
			if diff := cmp.Diff(wantUIDs, uids); diff != "" {
				t.Errorf("posted dashboards (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPushSubPath(t *testing.T) {
	t.Parallel()
	fake := &fakeGrafana{folders: []sdk.Folder{{ID: 7, Title: "monitor443"}}}
	mux := http.NewServeMux()
	mux.Handle("/grafana/", http.StripPrefix("/grafana", fake))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if err := Push(context.Background(), srv.Client(), srv.URL+"/grafana/", testToken, "monitor443", All()[:1]); err != nil {
		t.Fatalf("Push: %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if diff := cmp.Diff([]string{"GET /api/folders", "POST /api/dashboards/db"}, fake.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestPushErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   string
		folder  string
		status  int
		body    string
		wantErr string
	}{
		{name: "unauthorized", token: "wrong", folder: "monitor443", wantErr: "401"},
		{name: "version mismatch", token: testToken, status: http.StatusPreconditionFailed, body: `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`, wantErr: "412"},
		// Grafana's SDK panics on an error answer without "message".
		{name: "error without message", token: testToken, status: http.StatusInternalServerError, body: `{}`, wantErr: "unexpected grafana response"},
		{name: "not json", token: testToken, status: http.StatusBadGateway, body: `<html>bad gateway</html>`, wantErr: "push dashboard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeGrafana{dashboardStatus: tt.status, dashboardBody: tt.body}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			err := Push(context.Background(), srv.Client(), srv.URL, tt.token, tt.folder, All())
			if err == nil {
				t.Fatal("Push succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q contains the token", err)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.posted) > 1 {
				t.Errorf("Push went on after an error: %d dashboards posted", len(fake.posted))
			}
		})
	}
}

func TestPushRedactsPassword(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // connection refused
	u := strings.Replace(addr, "http://", "http://admin:hunter2@", 1)
	err := Push(context.Background(), nil, u, "", "", All()[:1])
	if err == nil {
		t.Fatal("Push to a closed server succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestPushCanceled(t *testing.T) {
	t.Parallel()
	fake := &fakeGrafana{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Push(ctx, srv.Client(), srv.URL, testToken, "", All()); err == nil {
		t.Fatal("Push with a canceled context succeeded")
	}
}

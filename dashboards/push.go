package dashboards

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/grafana-tools/sdk"
)

// Push uploads boards to the Grafana server at grafanaURL through its HTTP
// API, replacing boards with the same UID (overwrite). token is a service
// account token or API key, sent as "Authorization: Bearer <token>"; the SDK
// treats a token containing a colon as "user:password" for basic
// authentication. When folder is not empty, the boards go into the folder
// with that title, which is created if it does not exist; otherwise they go
// into the General folder. client may be nil for [http.DefaultClient].
//
// Push stops at the first error. Errors never contain the token; a URL in
// an error has its password redacted.
func Push(ctx context.Context, client *http.Client, grafanaURL, token, folder string, boards []*sdk.Board) error {
	if client == nil {
		client = http.DefaultClient
	}
	c, err := sdk.NewClient(grafanaURL, token, client)
	if err != nil {
		return fmt.Errorf("grafana client: %w", redact(err))
	}
	folderID := sdk.DefaultFolderId
	if folder != "" {
		folderID, err = ensureFolder(ctx, c, folder)
		if err != nil {
			return err
		}
	}
	for _, b := range boards {
		if err := setDashboard(ctx, c, b, folderID); err != nil {
			return fmt.Errorf("push dashboard %q: %w", b.UID, redact(err))
		}
	}
	return nil
}

// ensureFolder returns the ID of the folder titled title, creating it when
// missing.
func ensureFolder(ctx context.Context, c *sdk.Client, title string) (int, error) {
	folders, err := c.GetAllFolders(ctx, sdk.Limit(1000))
	if err != nil {
		return 0, fmt.Errorf("list grafana folders: %w", redact(err))
	}
	for _, f := range folders {
		if f.Title == title {
			return f.ID, nil
		}
	}
	f, err := c.CreateFolder(ctx, sdk.Folder{Title: title})
	if err != nil {
		return 0, fmt.Errorf("create grafana folder %q: %w", title, redact(err))
	}
	if f.ID == 0 {
		return 0, fmt.Errorf("create grafana folder %q: response has no folder id", title)
	}
	return f.ID, nil
}

// setDashboard posts one board. The board is copied so the caller's value
// is not changed, and its numeric ID is cleared so Grafana matches it by UID.
//
// The SDK dereferences the response's "message" field on any non-200 answer
// and panics when a server (or a proxy in front of it) leaves it out, so
// this function turns that panic into an error.
func setDashboard(ctx context.Context, c *sdk.Client, b *sdk.Board, folderID int) (err error) {
	board := *b
	board.ID = 0
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unexpected grafana response (%v)", r)
		}
	}()
	_, err = c.SetDashboard(ctx, board, sdk.SetDashboardParams{FolderID: folderID, Overwrite: true})
	return err
}

// redact removes a password from the URL of a *url.Error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return &url.Error{Op: ue.Op, URL: u.Redacted(), Err: ue.Err}
		}
		return &url.Error{Op: ue.Op, URL: "<redacted>", Err: ue.Err}
	}
	return err
}

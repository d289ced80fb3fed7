package daemon

import (
	"context"
	"errors"

	"github.com/vdird/vdird/engine/restore"
)

// ControlRestore asks a running daemon to restore the versions sel
// selects (engine.Engine.Restore): the daemon holds the state that a
// restore reads. Its watcher then sees the files and uploads them.
func ControlRestore(ctx context.Context, socketPath string, sel restore.Selection) (*restore.Result, error) {
	resp, err := Control(ctx, socketPath, ControlRequest{Cmd: "restore", Restore: &sel})
	if err != nil {
		return nil, err
	}
	if resp.Restore == nil {
		return nil, errors.New("daemon: no restore in its answer")
	}
	return resp.Restore, nil
}

func (s *controlServer) handleRestore(req ControlRequest) ControlResponse {
	if req.Restore == nil {
		return ControlResponse{Error: "restore: nothing selected"}
	}
	s.log.Info().Interface("selection", req.Restore).Msg("restore requested on the control socket")
	res, err := s.h.restore(s.ctx, *req.Restore)
	if err != nil {
		return ControlResponse{Error: err.Error()}
	}
	return ControlResponse{Restore: res}
}

// restore serves `vdird restore`.
func (r *runner) restore(ctx context.Context, sel restore.Selection) (*restore.Result, error) {
	return r.eng.Restore(ctx, sel)
}

package ops

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/controller"
)

type jobsBase interface{ Jobs }

// fakeJobs records the Manager calls Apply makes.
type fakeJobs struct {
	jobsBase
	calls []string
	err   error
}

func (f *fakeJobs) Start(id string) error { f.calls = append(f.calls, "start "+id); return f.err }
func (f *fakeJobs) Pause(id, reason string) error {
	f.calls = append(f.calls, "pause "+id+" "+reason)
	return f.err
}
func (f *fakeJobs) Resume(id string) error { f.calls = append(f.calls, "resume "+id); return f.err }
func (f *fakeJobs) Cancel(id, reason string) error {
	f.calls = append(f.calls, "cancel "+id+" "+reason)
	return f.err
}

func TestApply(t *testing.T) {
	tests := []struct {
		state      controller.State
		verb       string
		wantCall   string // "" = no manager call
		wantErr    string
		wantResult string
	}{
		{controller.Queued, Start, "start j", "", "started"},
		{controller.Running, Start, "", "", "already started"},
		{controller.Completed, Start, "", "cannot be started again", ""},
		{controller.Running, Pause, "pause j paused by web", "", "pausing"},
		{controller.Paused, Pause, "", "", "already paused"},
		{controller.Queued, Pause, "", "nothing to pause", ""},
		{controller.Failed, Pause, "", "already failed", ""},
		{controller.Paused, Resume, "resume j", "", "resuming"},
		{controller.Queued, Resume, "", "use start", ""},
		{controller.Aborted, Resume, "", "already aborted", ""},
		{controller.Running, Cancel, "cancel j cancelled by web", "", "cancelling"},
		{controller.Queued, Cancel, "cancel j cancelled by web", "", "cancelling"},
		{controller.Aborted, Cancel, "", "", "already aborted"},
		{controller.Completed, Cancel, "", "nothing to cancel", ""},
		{controller.Running, "explode", "", "unknown command", ""},
	}
	for _, tc := range tests {
		f := &fakeJobs{}
		res, err := Apply(f, controller.JobInfo{ID: "j", State: tc.state}, tc.verb, "", "web")
		call := strings.Join(f.calls, ";")
		if call != tc.wantCall {
			t.Errorf("%s %s: calls %q, want %q", tc.verb, tc.state, call, tc.wantCall)
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %s: err %v, want %q", tc.verb, tc.state, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(res, tc.wantResult) {
			t.Errorf("%s %s: %q %v, want %q", tc.verb, tc.state, res, err, tc.wantResult)
		}
	}
	// a Manager error on resume of a running job is a no-op ack
	f := &fakeJobs{err: errors.New("not paused")}
	if res, err := Apply(f, controller.JobInfo{ID: "j", State: controller.Running}, Resume, "", "MES"); err != nil || !strings.Contains(res, "nothing to resume") {
		t.Errorf("resume running: %q %v", res, err)
	}
}

func TestLatestAndCurrent(t *testing.T) {
	cell := config.Defaults()
	cell.Controller.JournalDir = filepath.Join(t.TempDir(), "j")
	m := controller.NewManager(controller.Options{Cell: cell})
	defer m.Close()
	if _, ok := Latest(m); ok {
		t.Fatal("latest without jobs")
	}
	model, _ := filepath.Abs("../../planners/graph/testdata/assembly_instances/four-frame.json")
	for _, id := range []string{"a", "b"} {
		if _, _, err := m.Submit(controller.JobSpec{ID: id, Process: "travel", Model: model}); err != nil {
			t.Fatal(err)
		}
	}
	if j, ok := Latest(m); !ok || j.ID != "a" {
		t.Fatalf("latest of queued jobs: %v", j.ID)
	}
	m.Cancel("b", "test")
	if j, _ := Latest(m); j.ID != "b" {
		t.Fatalf("latest after b ended: %v", j.ID)
	}
	if _, ok := Current(m); ok {
		t.Fatal("current without an active job")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m.Wait(ctx, "b")
}

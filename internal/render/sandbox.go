package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sandboxEnv marks a process started as a Sandbox's child.
const sandboxEnv = "DRIFTLESS_RENDER_SANDBOX"

// Sandbox runs the engines of a render in a child process: the program at
// Command, started again with an empty environment. The child cannot reach
// the network (its HTTP client and resolver refuse, and it has no PATH to
// find git on), cannot change the state of any other render (kustomize's
// process-wide OpenAPI schema dies with it), and is killed past its bounds:
// a render over them is LimitExceeded naming the bound, and the caller goes
// on. Each child renders once and exits; one spare is kept started, locked
// down, bounded and warmed up (see warmUp), waiting for its request, so that
// a render does not wait for a program to start.
type Sandbox struct {
	// Command is the program to start; its main must call MaybeServeSandbox
	// before anything else. DefaultSandbox uses the running executable.
	Command string
	// Timeout bounds one render's wall-clock time.
	Timeout time.Duration
	// CPUTime bounds one render's CPU time (RLIMIT_CPU).
	CPUTime time.Duration
	// MemoryBytes bounds the child's writable memory (RLIMIT_DATA), where
	// the Go heap lives.
	MemoryBytes int64

	mu        sync.Mutex
	spare     *child      // started, waiting for its request
	starting  bool        // a spare is being started
	rendering int         // renders running now
	quiet     *time.Timer // starts a spare once renders have stopped for spareAfter
}

// spareAfter is how long renders must have stopped before a spare starts:
// its start and warm-up take CPU that a reconcile's apply, or the next
// render of a burst, would otherwise wait behind.
const spareAfter = time.Second

// DefaultSandbox returns a Sandbox of the running executable, with bounds
// far above a large real render: the 1,000-object overlay of the
// benchmarks takes 3.4 s of the child's CPU and peaks at 106 MiB.
func DefaultSandbox() (*Sandbox, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("render sandbox: %w", err)
	}
	return &Sandbox{Command: exe, Timeout: 2 * time.Minute, CPUTime: time.Minute, MemoryBytes: 1 << 30}, nil
}

// MaybeServeSandbox renders the one request on standard input and exits,
// when this process was started as a Sandbox's child; otherwise it returns
// at once. Every program that may be a Sandbox's Command calls it first in
// main (tests: in TestMain).
func MaybeServeSandbox() {
	mode := os.Getenv(sandboxEnv)
	if mode == "" {
		return
	}
	os.Exit(serveSandbox(os.Stdin, os.Stdout, mode == "spare"))
}

// sandboxRequest is what the parent sends: Options without its callbacks,
// cache and sandbox.
type sandboxRequest struct {
	Root, Dir       string
	Engine          Engine
	Helm            HelmOptions
	TargetNamespace string
	Capabilities    Capabilities
	PostBuild       PostBuild
	Substitute      map[string]string
	Limits          Limits
	Record          bool
	MemoryBytes     int64
	Plaintext       map[string][]byte
}

// sandboxResponse is what the child answers.
type sandboxResponse struct {
	Engine   Engine
	Objects  []sandboxObject
	Deps     []sandboxDep
	Suspects []string
	Needs    []ChartDependency
	Error    *sandboxError
}

type sandboxObject struct {
	File, Template string
	Line           int
	Object         json.RawMessage
}

type sandboxDep struct{ Op, Name, Answer string }

type sandboxError struct {
	Reason  Reason
	File    string
	Line    int
	Message string
}

// child is a started sandbox process that has not been sent its request.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser // the answer, after one newline once the child is ready
	stderr *boundedBuffer
}

// produce runs produce in a child process.
func (s *Sandbox) produce(ctx context.Context, opts Options, dir string, record bool) (produced, error) {
	root, err := filepath.Abs(opts.Root) // the child starts in /
	if err != nil {
		return produced{}, failf(BuildFailed, dir, 0, "render sandbox: %w", err)
	}
	req, err := json.Marshal(sandboxRequest{Root: root, Dir: dir, Engine: opts.Engine, Helm: opts.Helm, TargetNamespace: opts.TargetNamespace,
		Capabilities: opts.Capabilities, PostBuild: opts.PostBuild, Substitute: opts.Substitute, Limits: opts.Limits, Record: record, MemoryBytes: s.MemoryBytes,
		Plaintext: opts.plaintext})
	if err != nil {
		return produced{}, failf(BuildFailed, dir, 0, "render sandbox: %w", err)
	}
	s.mu.Lock()
	s.rendering++
	s.mu.Unlock()
	defer s.rendered()
	c, err := s.send(req)
	if err != nil {
		return produced{}, failf(BuildFailed, dir, 0, "render sandbox: %w", err)
	}
	runCtx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	stop := context.AfterFunc(runCtx, func() { _ = c.cmd.Process.Kill() })
	// Rendered objects as JSON take about twice their YAML.
	stdout := &boundedBuffer{max: 4 * opts.Limits.MaxBytes}
	_, _ = io.Copy(stdout, c.stdout) // until the child exits; Wait says how
	waitErr := c.cmd.Wait()
	stop()
	if waitErr != nil || stdout.overflow {
		return produced{}, s.failure(ctx, runCtx, c.cmd.ProcessState, c.stderr.String(), stdout, dir, waitErr)
	}
	return decodeResponse(stdout.Bytes(), dir)
}

// send hands req to the spare child, or to a new one when there is none or
// the spare has died.
func (s *Sandbox) send(req []byte) (*child, error) {
	s.mu.Lock()
	c := s.spare
	s.spare = nil
	s.mu.Unlock()
	if c != nil {
		if err := c.send(req); err == nil {
			return c, nil
		}
		c.discard()
	}
	c, err := s.start(false)
	if err != nil {
		return nil, err
	}
	if err := c.send(req); err != nil {
		c.discard()
		return nil, err
	}
	return c, nil
}

// rendered ends a render; the last of a burst arms the spare's start.
func (s *Sandbox) rendered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rendering--; s.rendering > 0 || s.spare != nil {
		return
	}
	if s.quiet == nil {
		s.quiet = time.AfterFunc(spareAfter, s.startSpare)
	} else {
		s.quiet.Reset(spareAfter)
	}
}

// startSpare starts a spare unless there is one, or a render runs.
func (s *Sandbox) startSpare() {
	s.mu.Lock()
	if s.spare != nil || s.starting || s.rendering > 0 {
		s.mu.Unlock()
		return
	}
	s.starting = true
	s.mu.Unlock()
	c, err := s.start(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starting = false
	if err == nil {
		s.spare = c
	}
}

// start starts a child in / with its bounds set: it locks itself down,
// and waits for its request. A spare warms up first, and start returns once
// it is ready.
func (s *Sandbox) start(spare bool) (*child, error) {
	cmd := exec.Command(s.Command)
	cmd.Env = []string{sandboxEnv + "=" + map[bool]string{false: "1", true: "spare"}[spare]}
	cmd.Dir = "/"
	c := &child{cmd: cmd, stderr: &boundedBuffer{max: 64 << 10}}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if c.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := s.limit(cmd.Process.Pid); err != nil {
		c.discard()
		return nil, fmt.Errorf("set bounds: %w", err)
	}
	if spare {
		if _, err := io.ReadFull(c.stdout, make([]byte, 1)); err != nil {
			c.discard()
			return nil, fmt.Errorf("spare: %w: %s", err, c.stderr.String())
		}
	}
	return c, nil
}

// send writes the request; it fails if the child has died.
func (c *child) send(req []byte) error {
	_, err := c.stdin.Write(req)
	if cerr := c.stdin.Close(); err == nil {
		err = cerr
	}
	return err
}

// discard kills the child and waits for it.
func (c *child) discard() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// limit sets the CPU and memory bounds of the child pid. Soft and hard CPU
// limits are equal, so the kernel kills with SIGKILL (Go ignores SIGXCPU).
func (s *Sandbox) limit(pid int) error {
	cpu := uint64(max(1, s.CPUTime/time.Second))
	if err := unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: cpu, Max: cpu}, nil); err != nil {
		return err
	}
	mem := uint64(s.MemoryBytes)
	return unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: mem, Max: mem}, nil)
}

// failure says why the child failed: which bound it crossed, if any.
func (s *Sandbox) failure(parent, run context.Context, ps *os.ProcessState, stderr string, stdout *boundedBuffer, dir string, err error) error {
	switch {
	case parent.Err() != nil:
		return &Error{Reason: BuildFailed, File: dir, Err: fmt.Errorf("render cancelled: %w", parent.Err())}
	case run.Err() != nil:
		return failf(LimitExceeded, dir, 0, "render ran longer than its time bound of %s and was stopped", s.Timeout)
	case stdout.overflow:
		return failf(LimitExceeded, dir, 0, "render produced more output than its bound of %d bytes", stdout.max)
	case ps != nil && cpuOf(ps) >= s.CPUTime-time.Second && signaled(ps, syscall.SIGKILL, syscall.SIGXCPU):
		return failf(LimitExceeded, dir, 0, "render used more than its CPU-time bound of %s and was stopped", s.CPUTime)
	case strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory"):
		return failf(LimitExceeded, dir, 0, "render needed more than its memory bound of %d MiB and was stopped", s.MemoryBytes>>20)
	}
	return failf(BuildFailed, dir, 0, "render process failed: %v", err)
}

func cpuOf(ps *os.ProcessState) time.Duration { return ps.UserTime() + ps.SystemTime() }

func signaled(ps *os.ProcessState, sigs ...syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	for _, s := range sigs {
		if ws.Signal() == s {
			return true
		}
	}
	return false
}

// decodeResponse turns the child's answer into what produce returns.
func decodeResponse(data []byte, dir string) (produced, error) {
	var resp sandboxResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return produced{}, failf(BuildFailed, dir, 0, "render sandbox: read the answer: %w", err)
	}
	p := produced{engine: resp.Engine, suspects: resp.Suspects, needs: resp.Needs}
	if resp.Deps != nil {
		p.deps = make(map[dep]string, len(resp.Deps))
		for _, d := range resp.Deps {
			p.deps[dep{d.Op, d.Name}] = d.Answer
		}
	}
	if e := resp.Error; e != nil {
		return p, &Error{Reason: e.Reason, File: e.File, Line: e.Line, Err: errors.New(e.Message)}
	}
	p.objs = make([]object, len(resp.Objects))
	for i, o := range resp.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(o.Object); err != nil {
			return produced{}, failf(BuildFailed, dir, 0, "render sandbox: read object %d: %w", i, err)
		}
		p.objs[i] = object{u: u, file: o.File, line: o.Line, template: o.Template}
	}
	return p, nil
}

// serveSandbox is the child: it locks itself down, warms up if it is a
// spare, renders the request and writes the answer. The exit code is 0
// whenever an answer was written.
func serveSandbox(in io.Reader, out io.Writer, spare bool) int {
	lockDown()
	if spare {
		_ = warmUp()
	}
	// Ready: a newline, which the answer's JSON decoding skips.
	if _, err := out.Write([]byte("\n")); err != nil {
		return 2
	}
	var req sandboxRequest
	if err := json.NewDecoder(io.LimitReader(in, 64<<20)).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "render sandbox: read the request:", err)
		return 2
	}
	if req.MemoryBytes > 0 {
		// Collect harder near the bound before the kernel refuses memory.
		debug.SetMemoryLimit(req.MemoryBytes * 9 / 10)
	}
	if err := os.Chdir(req.Root); err != nil {
		fmt.Fprintln(os.Stderr, "render sandbox:", err)
		return 2
	}
	opts := Options{Root: req.Root, Path: req.Dir, Engine: req.Engine, Helm: req.Helm, TargetNamespace: req.TargetNamespace,
		Capabilities: req.Capabilities, PostBuild: req.PostBuild, Substitute: req.Substitute, Limits: req.Limits, plaintext: req.Plaintext}
	resp := answer(safeProduce(opts, req.Dir, req.Record))
	if err := json.NewEncoder(out).Encode(resp); err != nil {
		fmt.Fprintln(os.Stderr, "render sandbox: write the answer:", err)
		return 2
	}
	return 0
}

// safeProduce is produce with a panic turned into a failure.
func safeProduce(opts Options, dir string, record bool) (p produced, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = failf(BuildFailed, dir, 0, "%w: %v", errPanicked, r)
		}
	}()
	return produce(context.Background(), opts, dir, record)
}

// answer encodes what produce returned.
func answer(p produced, err error) sandboxResponse {
	resp := sandboxResponse{Engine: p.engine, Suspects: p.suspects, Needs: p.needs}
	for d, a := range p.deps {
		resp.Deps = append(resp.Deps, sandboxDep{Op: d.op, Name: d.name, Answer: a})
	}
	if err != nil {
		e := &Error{Reason: ReasonOf(err), Err: err}
		errors.As(err, &e)
		resp.Error = &sandboxError{Reason: e.Reason, File: e.File, Line: e.Line, Message: e.Err.Error()}
		return resp
	}
	for _, o := range p.objs {
		raw, err := o.u.MarshalJSON()
		if err != nil {
			return answer(produced{}, failf(BuildFailed, o.file, o.line, "encode object: %w", err))
		}
		resp.Objects = append(resp.Objects, sandboxObject{File: o.file, Line: o.line, Template: o.template, Object: raw})
	}
	return resp
}

// errNoNetwork is every network request of a sandboxed render.
var errNoNetwork = errors.New("the network is closed to renders")

// lockDown closes the network to this process, whatever a library asks:
// kustomize fetches remote files with http.Client{} (the default
// transport), templates resolve names with the default resolver, and git is
// looked up on a PATH that is now empty.
func lockDown() {
	http.DefaultTransport = refusingTransport{}
	http.DefaultClient = &http.Client{Transport: refusingTransport{}}
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errNoNetwork
	}}
	os.Clearenv()
}

type refusingTransport struct{}

func (refusingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoNetwork }

// boundedBuffer keeps at most max bytes and remembers that more came.
type boundedBuffer struct {
	bytes.Buffer
	max      int64
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - int64(b.Len()); int64(n) > room {
		b.overflow = true
		p = p[:max(room, 0)]
	}
	b.Buffer.Write(p)
	return n, nil // the rest is drained, so the child never blocks
}

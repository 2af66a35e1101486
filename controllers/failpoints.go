package controllers

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Failpoints make a step fail on purpose when it starts, for the fault
// tests: step name → "panic" (the step panics) or "kill" (the process dies
// by SIGKILL, as an out-of-memory kill or a node loss would end it). The
// manager reads them from $DRIFTLESS_FAILPOINTS, "render=panic,apply=kill";
// nil in production.
type Failpoints map[string]string

// ParseFailpoints reads "step=action,step=action".
func ParseFailpoints(s string) (Failpoints, error) {
	if s == "" {
		return nil, nil
	}
	f := Failpoints{}
	for _, kv := range strings.Split(s, ",") {
		step, action, ok := strings.Cut(kv, "=")
		if !ok || (action != "panic" && action != "kill") {
			return nil, fmt.Errorf("failpoint %q: want step=panic or step=kill", kv)
		}
		f[step] = action
	}
	return f, nil
}

// hit acts on the failpoint of step, if there is one.
func (f Failpoints) hit(step string) {
	switch f[step] {
	case "panic":
		panic("failpoint " + step)
	case "kill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

package controllers

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Failpoints make a step fail on purpose, for the fault tests: step name →
// "panic" (the step panics when it starts) or "kill" (the process dies by
// SIGKILL, as an out-of-memory kill or a node loss would end it). "apply@k"
// and "prune@k" act once k objects were applied or deleted, "switch@k" once
// a blue-green release switched k active Services, and "scale-down" before
// it scales the idle colour down. The manager reads them from
// $DRIFTLESS_FAILPOINTS, "render=panic,prune@2=kill"; nil in production.
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

// progress is the apply engine's Progress hook for the "apply@k" and
// "prune@k" failpoints; nil when there are none.
func (f Failpoints) progress() func(op string, done int) {
	if len(f) == 0 {
		return nil
	}
	return func(op string, done int) { f.hit(fmt.Sprintf("%s@%d", op, done)) }
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

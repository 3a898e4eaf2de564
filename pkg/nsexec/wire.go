package nsexec

// #include <stdlib.h>
// #include "stage.h"
// extern uint64_t unsh_ignored_signals;
import "C"

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"
)

// stageEnv is the private variable that hands a re-executed unsh its socket.
const stageEnv = C.UNSH_STAGE_ENV

// keep asks the stage to keep the id it has.
const keep = uint32(C.UNSH_KEEP)

// encodeBootstrap writes the bootstrap data read by unsh_parse_bootstrap.
func encodeBootstrap(cfg Config, ppid int) []byte {
	var payload []byte
	field := func(kind C.int, value []byte) {
		payload = binary.NativeEndian.AppendUint16(payload, uint16(kind))
		payload = binary.NativeEndian.AppendUint16(payload, 0)
		payload = binary.NativeEndian.AppendUint32(payload, uint32(len(value)))
		payload = append(payload, value...)
	}
	u32 := func(kind C.int, v uint32) { field(kind, binary.NativeEndian.AppendUint32(nil, v)) }
	for _, arg := range cfg.Args {
		field(C.UNSH_FIELD_ARG, append([]byte(arg), 0))
	}
	u32(C.UNSH_FIELD_CLONE_FLAGS, uint32(cfg.Cloneflags))
	fork := uint32(0)
	if cfg.Fork {
		fork = 1
	}
	u32(C.UNSH_FIELD_FORK, fork)
	u32(C.UNSH_FIELD_UID, idOrKeep(cfg.UID))
	u32(C.UNSH_FIELD_GID, idOrKeep(cfg.GID))
	u32(C.UNSH_FIELD_PPID, uint32(ppid))
	if cfg.Propagation != 0 {
		u32(C.UNSH_FIELD_PROPAGATION, uint32(cfg.Propagation))
	}
	for _, f := range []struct {
		kind  C.int
		value string
	}{{C.UNSH_FIELD_HOSTNAME, cfg.Hostname}, {C.UNSH_FIELD_ROOT, cfg.Root}, {C.UNSH_FIELD_WD, cfg.Dir}, {C.UNSH_FIELD_MOUNT_PROC, cfg.MountProc}} {
		if f.value != "" {
			field(f.kind, append([]byte(f.value), 0))
		}
	}
	if cfg.SetUID != nil {
		u32(C.UNSH_FIELD_SETUID, *cfg.SetUID)
	}
	if cfg.SetGID != nil {
		u32(C.UNSH_FIELD_SETGID, *cfg.SetGID)
	}
	for _, f := range []struct {
		kind C.int
		on   bool
	}{{C.UNSH_FIELD_DROP_GROUPS, cfg.DropGroups}, {C.UNSH_FIELD_KEEP_CAPS, cfg.KeepCaps}, {C.UNSH_FIELD_INIT, cfg.Init}} {
		if f.on {
			u32(f.kind, 1)
		}
	}
	if cfg.KillSignal != 0 {
		u32(C.UNSH_FIELD_KILL_SIGNAL, uint32(cfg.KillSignal))
	}
	if cfg.Monotonic != 0 {
		field(C.UNSH_FIELD_MONOTONIC, binary.NativeEndian.AppendUint64(nil, uint64(cfg.Monotonic)))
	}
	if cfg.Boottime != 0 {
		field(C.UNSH_FIELD_BOOTTIME, binary.NativeEndian.AppendUint64(nil, uint64(cfg.Boottime)))
	}

	out := binary.NativeEndian.AppendUint32(nil, C.UNSH_MAGIC)
	out = binary.NativeEndian.AppendUint32(out, C.UNSH_VERSION)
	out = binary.NativeEndian.AppendUint32(out, uint32(len(payload)))
	return append(out, payload...)
}

func idOrKeep(id *uint32) uint32 {
	if id == nil {
		return keep
	}
	return *id
}

// checkBootstrap runs the C parser over data, for tests and fuzzing.
func checkBootstrap(data []byte) (argv []string, err error) {
	var b C.struct_unsh_bootstrap
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(C.CBytes(data))
		defer C.free(unsafe.Pointer(ptr))
	}
	if code := C.unsh_parse_bootstrap(ptr, C.size_t(len(data)), &b); code != 0 {
		return nil, parseError(code)
	}
	defer C.unsh_free_bootstrap(&b)
	for _, p := range unsafe.Slice(b.argv, b.argc) {
		argv = append(argv, C.GoString(p))
	}
	return argv, nil
}

// parseError says why the stage refused its bootstrap data.
type parseError int

var parseErrors = map[parseError]string{
	C.UNSH_PARSE_SHORT_HEADER:    "shorter than its header",
	C.UNSH_PARSE_BAD_MAGIC:       "bad magic number",
	C.UNSH_PARSE_BAD_VERSION:     "unknown version",
	C.UNSH_PARSE_BAD_LENGTH:      "length does not match",
	C.UNSH_PARSE_TRUNCATED_FIELD: "a field is truncated",
	C.UNSH_PARSE_UNKNOWN_FIELD:   "unknown field",
	C.UNSH_PARSE_BAD_INTEGER:     "an integer field has the wrong size or value",
	C.UNSH_PARSE_BAD_STRING:      "a string is not NUL-terminated or holds a NUL",
	C.UNSH_PARSE_DUPLICATE_FIELD: "a field appears twice",
	C.UNSH_PARSE_MISSING_FIELD:   "a required field is missing",
	C.UNSH_PARSE_NO_MEMORY:       "out of memory",
}

func (e parseError) Error() string {
	if text, ok := parseErrors[e]; ok {
		return "bootstrap data refused: " + text
	}
	return fmt.Sprintf("bootstrap data refused: reason %d", int(e))
}

// The messages on the socket.
const (
	msgMapRequest = C.UNSH_MSG_MAP_REQUEST
	msgMapAck     = C.UNSH_MSG_MAP_ACK
	msgChildPID   = C.UNSH_MSG_CHILD_PID
	msgExec       = C.UNSH_MSG_EXEC
	msgError      = C.UNSH_MSG_ERROR
	msgSize       = C.sizeof_struct_unsh_msg_wire
)

type message struct {
	Type, PID, Stage, Step, Errno, Detail int32
}

// stepNames name the steps of stage.c in error messages.
var stepNames = map[int32]string{
	C.UNSH_STEP_SOCKET:          "taking the bootstrap socket",
	C.UNSH_STEP_PDEATHSIG:       "prctl(PR_SET_PDEATHSIG)",
	C.UNSH_STEP_DUMPABLE:        "prctl(PR_SET_DUMPABLE)",
	C.UNSH_STEP_READ_BOOTSTRAP:  "reading the bootstrap data",
	C.UNSH_STEP_PARSE_BOOTSTRAP: "parsing the bootstrap data",
	C.UNSH_STEP_UNSHARE_USER:    "unshare(CLONE_NEWUSER)",
	C.UNSH_STEP_SEND:            "writing to the parent",
	C.UNSH_STEP_WAIT_ACK:        "waiting for the maps",
	C.UNSH_STEP_SETRESGID:       "setresgid",
	C.UNSH_STEP_SETRESUID:       "setresuid",
	C.UNSH_STEP_UNSHARE:         "unshare of the other namespaces",
	C.UNSH_STEP_CLONE:           "clone(CLONE_PARENT)",
	C.UNSH_STEP_EXEC:            "exec",
	C.UNSH_STEP_TIME_OFFSETS:    "writing /proc/self/timens_offsets",
	C.UNSH_STEP_PROPAGATION:     "setting the propagation of /",
	C.UNSH_STEP_HOSTNAME:        "sethostname",
	C.UNSH_STEP_MOUNT_PROC:      "mounting proc",
	C.UNSH_STEP_CHROOT:          "chroot",
	C.UNSH_STEP_CHDIR:           "chdir",
	C.UNSH_STEP_SETGROUPS:       "setgroups",
	C.UNSH_STEP_CAPABILITIES:    "keeping capabilities",
	C.UNSH_STEP_INIT:            "starting the command under --init",
}

// IgnoredAtStart lists the signals that were ignored when this process
// started, as stage.c's constructor saw them before the Go runtime
// installed its handlers.
func IgnoredAtStart() []syscall.Signal {
	var sigs []syscall.Signal
	for sig := 1; sig <= 64; sig++ {
		if C.unsh_ignored_signals&(1<<(sig-1)) != 0 {
			sigs = append(sigs, syscall.Signal(sig))
		}
	}
	return sigs
}

const (
	stepExec           = C.UNSH_STEP_EXEC
	stepUnshareUser    = C.UNSH_STEP_UNSHARE_USER
	stepParseBootstrap = C.UNSH_STEP_PARSE_BOOTSTRAP
	stepChroot         = C.UNSH_STEP_CHROOT
	stepChdir          = C.UNSH_STEP_CHDIR
	stepMountProc      = C.UNSH_STEP_MOUNT_PROC
	stepHostname       = C.UNSH_STEP_HOSTNAME
)

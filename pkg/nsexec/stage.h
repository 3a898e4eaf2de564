/* The wire format shared by stage.c and the Go side of pkg/nsexec. */
#ifndef UNSH_STAGE_H
#define UNSH_STAGE_H

#include <stddef.h>
#include <stdint.h>

/* The private variable that names the bootstrap socket of a re-executed unsh. */
#define UNSH_STAGE_ENV "_UNSH_STAGE"

/* Bootstrap: a 12-byte header (magic, version, payload length, native byte
 * order) and then fields: u16 type, u16 zero, u32 length, value. */
#define UNSH_MAGIC 0x48534e55u /* "UNSH" */
#define UNSH_VERSION 1u
#define UNSH_MAX_PAYLOAD (8u << 20)
#define UNSH_HEADER_SIZE 12u
#define UNSH_FIELD_HEADER_SIZE 8u

enum unsh_field {
	UNSH_FIELD_ARG = 1,          /* string, repeated, required: the command's argv */
	UNSH_FIELD_CLONE_FLAGS = 2,  /* u32, required: namespaces to unshare after the user namespace */
	UNSH_FIELD_FORK = 3,         /* u32 0/1, required: fork before exec */
	UNSH_FIELD_UID = 4,          /* u32, required: uid to take once mapped, or UNSH_KEEP */
	UNSH_FIELD_GID = 5,          /* u32, required: gid to take once mapped, or UNSH_KEEP */
	UNSH_FIELD_PPID = 6,         /* u32, required: pid of the Go parent */
	UNSH_FIELD_PROPAGATION = 7,  /* u32: MS_PRIVATE, MS_SHARED or MS_SLAVE for "/", or 0 to leave it */
	UNSH_FIELD_HOSTNAME = 8,     /* string */
	UNSH_FIELD_ROOT = 9,         /* string: chroot here */
	UNSH_FIELD_WD = 10,          /* string: then chdir here */
	UNSH_FIELD_MOUNT_PROC = 11,  /* string: mount a fresh proc here */
	UNSH_FIELD_SETUID = 12,      /* u32: uid to end as, or UNSH_KEEP */
	UNSH_FIELD_SETGID = 13,      /* u32: gid to end as, or UNSH_KEEP */
	UNSH_FIELD_DROP_GROUPS = 14, /* u32 0/1: setgroups(0, NULL) with the setgid */
	UNSH_FIELD_KEEP_CAPS = 15,   /* u32 0/1: keep capabilities across exec as ambient ones */
	UNSH_FIELD_KILL_SIGNAL = 16, /* u32: the command's parent-death signal, 0 for none */
	UNSH_FIELD_MONOTONIC = 17,   /* u64 (two's complement): time namespace offset, seconds */
	UNSH_FIELD_BOOTTIME = 18,    /* u64 (two's complement) */
	UNSH_FIELD_INIT = 19,        /* u32 0/1: stay as PID 1 (init) and run the command as a child */
	UNSH_FIELD_MAX = 19,
};
#define UNSH_KEEP 0xffffffffu

/* Why a bootstrap was refused (the "detail" of an error message). */
enum unsh_parse_error {
	UNSH_PARSE_OK = 0,
	UNSH_PARSE_SHORT_HEADER,
	UNSH_PARSE_BAD_MAGIC,
	UNSH_PARSE_BAD_VERSION,
	UNSH_PARSE_BAD_LENGTH,
	UNSH_PARSE_TRUNCATED_FIELD,
	UNSH_PARSE_UNKNOWN_FIELD,
	UNSH_PARSE_BAD_INTEGER,
	UNSH_PARSE_BAD_STRING,
	UNSH_PARSE_DUPLICATE_FIELD,
	UNSH_PARSE_MISSING_FIELD,
	UNSH_PARSE_NO_MEMORY,
};

/* Messages on the socket, both ways: six native int32 values. */
enum unsh_msg {
	UNSH_MSG_MAP_REQUEST = 1, /* stage → Go: I have unshared CLONE_NEWUSER; write my maps */
	UNSH_MSG_MAP_ACK = 2,     /* Go → stage: the maps are written */
	UNSH_MSG_CHILD_PID = 3,   /* stage 1 → Go: stage 2 is this pid (your child) */
	UNSH_MSG_EXEC = 4,        /* stage → Go: about to exec; EOF next means it did */
	UNSH_MSG_ERROR = 5,       /* stage → Go: step failed with errno (and detail) */
};

struct unsh_msg_wire {
	int32_t type, pid, stage, step, err, detail;
};

enum unsh_step {
	UNSH_STEP_SOCKET = 1,
	UNSH_STEP_PDEATHSIG,
	UNSH_STEP_DUMPABLE,
	UNSH_STEP_READ_BOOTSTRAP,
	UNSH_STEP_PARSE_BOOTSTRAP,
	UNSH_STEP_UNSHARE_USER,
	UNSH_STEP_SEND,
	UNSH_STEP_WAIT_ACK,
	UNSH_STEP_SETRESGID,
	UNSH_STEP_SETRESUID,
	UNSH_STEP_UNSHARE,
	UNSH_STEP_CLONE,
	UNSH_STEP_EXEC,
	UNSH_STEP_TIME_OFFSETS,
	UNSH_STEP_PROPAGATION,
	UNSH_STEP_HOSTNAME,
	UNSH_STEP_MOUNT_PROC,
	UNSH_STEP_CHROOT,
	UNSH_STEP_CHDIR,
	UNSH_STEP_SETGROUPS,
	UNSH_STEP_CAPABILITIES,
	UNSH_STEP_INIT,
};

/* A parsed bootstrap. Strings point into the buffer it was parsed from and
 * are NULL when absent; argv is malloc'd and NULL-terminated. */
struct unsh_bootstrap {
	char **argv;
	uint32_t argc;
	uint32_t clone_flags, fork, uid, gid, ppid;
	uint32_t propagation, setuid, setgid, drop_groups, keep_caps, kill_signal, init;
	uint64_t monotonic, boottime;
	const char *hostname, *root, *wd, *mount_proc;
};

int unsh_parse_bootstrap(const uint8_t *buf, size_t len, struct unsh_bootstrap *out);
void unsh_free_bootstrap(struct unsh_bootstrap *b);

#endif

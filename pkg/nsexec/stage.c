/*
 * stage.c: the part of unsh that must run before the Go runtime exists.
 *
 * The kernel refuses unshare(CLONE_NEWUSER) to a multi-threaded process, and
 * the Go runtime starts threads before main. So the Go parent re-executes
 * unsh with _UNSH_STAGE naming a socket, and this constructor takes over
 * before Go starts: it unshares the user namespace, has the parent write the
 * maps, takes its credentials inside, unshares the other namespaces, forks
 * again where a new pid namespace or --fork needs it, and execs the command.
 * Policy (maps, helpers, messages, exit status) stays in Go; every step here
 * is checked, and its failure travels to Go as (stage, step, errno).
 *
 * Stage 1 is the re-executed process; stage 2, when there is one, is its
 * clone(CLONE_PARENT), a direct child of the Go parent. Both are non-dumpable
 * except while their maps are written, and die with the Go parent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stage.h"

struct stage {
	int sock;
	int number; /* 1 or 2 */
};

static void send_msg(const struct stage *s, int type, int step, int err, int detail)
{
	struct unsh_msg_wire m = {
		.type = type, .pid = getpid(), .stage = s->number, .step = step, .err = err, .detail = detail,
	};
	ssize_t n;
	do {
		n = write(s->sock, &m, sizeof m);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof m && type != UNSH_MSG_ERROR) {
		/* The parent is gone or the socket broke: nobody is left to tell. */
		_exit(125);
	}
}

/* fail reports a failed step to the Go parent and ends the stage. */
static void __attribute__((noreturn)) fail(const struct stage *s, int step, int err, int detail)
{
	send_msg(s, UNSH_MSG_ERROR, step, err, detail);
	_exit(125);
}

static void read_full(const struct stage *s, void *buf, size_t len, int step)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(s->sock, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(s, step, errno, 0);
		if (n == 0) /* EOF: the parent gave up on us; never take it for success */
			_exit(125);
		done += (size_t)n;
	}
}

static void read_bootstrap(const struct stage *s, struct unsh_bootstrap *b)
{
	uint8_t header[UNSH_HEADER_SIZE];
	uint32_t payload;

	read_full(s, header, sizeof header, UNSH_STEP_READ_BOOTSTRAP);
	memcpy(&payload, header + 8, sizeof payload);
	if (payload > UNSH_MAX_PAYLOAD)
		fail(s, UNSH_STEP_PARSE_BOOTSTRAP, EINVAL, UNSH_PARSE_BAD_LENGTH);
	uint8_t *buf = malloc(UNSH_HEADER_SIZE + (size_t)payload);
	if (!buf)
		fail(s, UNSH_STEP_READ_BOOTSTRAP, ENOMEM, 0);
	memcpy(buf, header, sizeof header);
	read_full(s, buf + UNSH_HEADER_SIZE, payload, UNSH_STEP_READ_BOOTSTRAP);
	int err = unsh_parse_bootstrap(buf, UNSH_HEADER_SIZE + (size_t)payload, b);
	if (err)
		fail(s, UNSH_STEP_PARSE_BOOTSTRAP, EINVAL, err);
	/* buf stays allocated: b's strings point into it until exec. */
}

/* die_with_parent arms PR_SET_PDEATHSIG and closes the race in which the
 * parent died before it was armed. In a new pid namespace the parent, being
 * outside it, shows as pid 0, and the race cannot be checked by pid. */
static void die_with_parent(const struct stage *s, pid_t ppid)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(s, UNSH_STEP_PDEATHSIG, errno, 0);
	pid_t now = getppid();
	if (ppid != 0 && now != 0 && now != ppid)
		_exit(125);
}

static void set_dumpable(const struct stage *s, int dumpable)
{
	if (prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0) < 0)
		fail(s, UNSH_STEP_DUMPABLE, errno, 0);
}

/* request_maps asks the parent to write our maps and waits for its word. The
 * maps are written from outside (by unsh or newuidmap), which needs us
 * dumpable meanwhile: /proc/PID of a non-dumpable process belongs to root. */
static void request_maps(const struct stage *s)
{
	struct unsh_msg_wire ack;

	set_dumpable(s, 1);
	send_msg(s, UNSH_MSG_MAP_REQUEST, UNSH_STEP_SEND, 0, 0);
	read_full(s, &ack, sizeof ack, UNSH_STEP_WAIT_ACK);
	if (ack.type != UNSH_MSG_MAP_ACK)
		fail(s, UNSH_STEP_WAIT_ACK, EPROTO, ack.type);
	set_dumpable(s, 0);
}

/* take_ids switches to the ids the command runs as; gid first, while we may. */
static void take_ids(const struct stage *s, const struct unsh_bootstrap *b)
{
	if (b->gid != UNSH_KEEP && setresgid(b->gid, b->gid, b->gid) < 0)
		fail(s, UNSH_STEP_SETRESGID, errno, 0);
	if (b->uid != UNSH_KEEP && setresuid(b->uid, b->uid, b->uid) < 0)
		fail(s, UNSH_STEP_SETRESUID, errno, 0);
}

/* clone_parent forks a sibling: the child's parent is the Go parent, which
 * thus waits for the command itself. A plain fork-like clone on any arch. */
static pid_t clone_parent(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

static void __attribute__((noreturn)) run_stages(struct stage *s)
{
	struct unsh_bootstrap b;

	die_with_parent(s, 0);
	set_dumpable(s, 0);
	read_bootstrap(s, &b);
	die_with_parent(s, (pid_t)b.ppid);

	if (unshare(CLONE_NEWUSER) < 0)
		fail(s, UNSH_STEP_UNSHARE_USER, errno, 0);
	request_maps(s);
	take_ids(s, &b);
	/* Changing credentials clears the parent-death signal: arm it again. */
	die_with_parent(s, (pid_t)b.ppid);
	if (b.clone_flags != 0 && unshare((int)b.clone_flags) < 0)
		fail(s, UNSH_STEP_UNSHARE, errno, 0);

	if (b.fork) {
		pid_t child = clone_parent();
		if (child < 0)
			fail(s, UNSH_STEP_CLONE, errno, 0);
		if (child > 0) {
			send_msg(s, UNSH_MSG_CHILD_PID, 0, 0, (int)child);
			_exit(0);
		}
		s->number = 2;
		die_with_parent(s, (pid_t)b.ppid);
	}

	/* The command outlives unsh unless asked otherwise (--kill-child). */
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
		fail(s, UNSH_STEP_PDEATHSIG, errno, 0);
	send_msg(s, UNSH_MSG_EXEC, 0, 0, 0);
	execvp(b.argv[0], b.argv);
	fail(s, UNSH_STEP_EXEC, errno, 0);
}

/* stage_fd reads the descriptor named by the private variable: decimal, and
 * a socket, or unsh was started with a stray variable. */
static int stage_fd(const char *text)
{
	char *end;
	struct stat st;

	errno = 0;
	long fd = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || fd < 3 || fd > 1 << 20)
		return -1;
	if (fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -1;
	return (int)fd;
}

__attribute__((constructor)) static void unsh_stage(void)
{
	const char *text = getenv(UNSH_STAGE_ENV);
	if (text == NULL)
		return; /* an ordinary unsh run, or a test binary: Go starts as usual */

	int fd = stage_fd(text);
	unsetenv(UNSH_STAGE_ENV);
	if (fd < 0) {
		fprintf(stderr, "unsh: %s is set but does not name a bootstrap socket; it is internal to unsh\n",
			UNSH_STAGE_ENV);
		_exit(125);
	}
	struct stage s = { .sock = fd, .number = 1 };
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fail(&s, UNSH_STEP_SOCKET, errno, 0);
	run_stages(&s);
}

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
 * except while their maps (or time offsets) are written, and die with the Go
 * parent. With --init the last stage stays as PID 1 and forks the command.
 *
 * In every unsh, and before anything else, the constructor also notes which
 * signals were ignored at the start: the Go runtime replaces that record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* take_ids switches to uid and gid (UNSH_KEEP: no change); gid first, while we may. */
static void take_ids(const struct stage *s, uint32_t uid, uint32_t gid)
{
	if (gid != UNSH_KEEP && setresgid(gid, gid, gid) < 0)
		fail(s, UNSH_STEP_SETRESGID, errno, 0);
	if (uid != UNSH_KEEP && setresuid(uid, uid, uid) < 0)
		fail(s, UNSH_STEP_SETRESUID, errno, 0);
}

/* write_time_offsets sets the clocks of the new time namespace; the kernel
 * takes them only before the first process enters it, so before the fork.
 * /proc/self of a non-dumpable process is root's: be dumpable meanwhile. */
static void write_time_offsets(const struct stage *s, const struct unsh_bootstrap *b)
{
	char text[128];
	int len = snprintf(text, sizeof text, "monotonic %lld 0\nboottime %lld 0\n",
			   (long long)(int64_t)b->monotonic, (long long)(int64_t)b->boottime);
	set_dumpable(s, 1);
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(s, UNSH_STEP_TIME_OFFSETS, errno, 0);
	if (write(fd, text, (size_t)len) != len)
		fail(s, UNSH_STEP_TIME_OFFSETS, errno, 0);
	close(fd);
	set_dumpable(s, 0);
}

/* unshare_others creates the namespaces besides the user namespace, now
 * owned by it, and sets them up while still one process. */
static void unshare_others(const struct stage *s, const struct unsh_bootstrap *b)
{
	if (b->clone_flags == 0)
		return;
	if (unshare((int)b->clone_flags) < 0)
		fail(s, UNSH_STEP_UNSHARE, errno, 0);
	if ((b->clone_flags & CLONE_NEWTIME) && (b->monotonic || b->boottime))
		write_time_offsets(s, b);
	/* Keep our mounts from reaching the caller's namespace (and back). */
	if ((b->clone_flags & CLONE_NEWNS) && b->propagation &&
	    mount("none", "/", NULL, MS_REC | b->propagation, NULL) < 0)
		fail(s, UNSH_STEP_PROPAGATION, errno, 0);
	if (b->hostname && sethostname(b->hostname, strlen(b->hostname)) < 0)
		fail(s, UNSH_STEP_HOSTNAME, errno, 0);
}

/* mount_proc mounts a proc of our pid namespace, as util-linux does. */
static void mount_proc(const struct stage *s, const char *dir)
{
	/* Not a mount point (EINVAL) is fine: "/" was made private already. */
	if (mount("none", dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0 && errno != EINVAL)
		fail(s, UNSH_STEP_MOUNT_PROC, errno, 0);
	if (mount("proc", dir, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
		fail(s, UNSH_STEP_MOUNT_PROC, errno, 0);
}

static void change_root(const struct stage *s, const struct unsh_bootstrap *b)
{
	if (b->root && (chroot(b->root) < 0 || chdir("/") < 0))
		fail(s, UNSH_STEP_CHROOT, errno, 0);
	if (b->mount_proc)
		mount_proc(s, b->mount_proc);
	if (b->wd && chdir(b->wd) < 0)
		fail(s, UNSH_STEP_CHDIR, errno, 0);
}

/* raise_ambient keeps every permitted capability across exec (--keep-caps),
 * also for a non-root uid: inheritable, then ambient. */
static void raise_ambient(const struct stage *s)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		fail(s, UNSH_STEP_CAPABILITIES, errno, 0);
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted;
		data[i].inheritable = data[i].permitted;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(s, UNSH_STEP_CAPABILITIES, errno, 0);
	for (int cap = 0; cap < 64; cap++) {
		if (!(data[cap / 32].permitted & (1u << (cap % 32))))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EINVAL)
			fail(s, UNSH_STEP_CAPABILITIES, errno, cap);
	}
}

/* become_final takes -S/-G (dropping supplementary groups where allowed). */
static void become_final(const struct stage *s, const struct unsh_bootstrap *b)
{
	if (b->keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail(s, UNSH_STEP_CAPABILITIES, errno, 0);
	if (b->setgid != UNSH_KEEP && b->drop_groups && setgroups(0, NULL) < 0)
		fail(s, UNSH_STEP_SETGROUPS, errno, 0);
	take_ids(s, b->setuid, b->setgid);
	if (b->keep_caps)
		raise_ambient(s);
}

/* clone_parent forks a sibling: the child's parent is the Go parent, which
 * thus waits for the command itself. A plain fork-like clone on any arch. */
static pid_t clone_parent(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

/* exec_command runs the command, or reports why it could not. */
static void __attribute__((noreturn)) exec_command(const struct stage *s, char **argv)
{
	send_msg(s, UNSH_MSG_EXEC, 0, 0, 0);
	execvp(argv[0], argv);
	fail(s, UNSH_STEP_EXEC, errno, 0);
}

/* reap collects every ended child; it returns the command's exit status
 * once the command has ended (128+N for death by signal N: PID 1 cannot
 * die of a signal it sends itself), else -1. */
static int reap(pid_t command)
{
	int status, result = -1;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0 || (pid < 0 && errno == EINTR)) {
		if (pid != command)
			continue;
		result = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	return result;
}

/*
 * run_init is --init: PID 1 of the new pid namespace. It starts the command
 * and then only waits for signals: it reaps every child the namespace hands
 * it, and passes on the signals that a process sent (kill(2) from unsh, say),
 * but not those the terminal or the kernel generated: the command, in the
 * same process group, got those itself. Only siginfo tells the two apart,
 * which is why this init is C and not Go.
 */
static void __attribute__((noreturn)) run_init(const struct stage *s, char **argv)
{
	sigset_t all, old;
	int ready[2];

	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		fail(s, UNSH_STEP_INIT, errno, 0);
	pid_t command = fork();
	if (command < 0)
		fail(s, UNSH_STEP_INIT, errno, 0);
	if (command == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		int err = errno;
		(void)!write(ready[1], &err, sizeof err); /* a short write reads as success: nothing better to do */
		_exit(127);
	}
	close(ready[1]);
	/* EOF on the close-on-exec pipe: the exec happened. */
	int err;
	ssize_t n;
	do {
		n = read(ready[0], &err, sizeof err);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof err) {
		waitpid(command, NULL, 0);
		fail(s, UNSH_STEP_EXEC, err, 0);
	}
	close(ready[0]);
	send_msg(s, UNSH_MSG_EXEC, 0, 0, 0);
	close(s->sock); /* unsh sees EOF: the command runs */

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status = reap(command);
			if (status >= 0)
				_exit(status);
		} else if (info.si_code <= 0) { /* SI_USER, SI_QUEUE, SI_TKILL: a process sent it */
			kill(command, sig);
		}
	}
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
	take_ids(s, b.uid, b.gid);
	/* Changing credentials clears the parent-death signal: arm it again. */
	die_with_parent(s, (pid_t)b.ppid);
	unshare_others(s, &b);

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

	change_root(s, &b);
	become_final(s, &b);

	/* The command (or its init) outlives unsh unless asked otherwise (--kill-child). */
	if (prctl(PR_SET_PDEATHSIG, b.kill_signal, 0, 0, 0) < 0)
		fail(s, UNSH_STEP_PDEATHSIG, errno, 0);
	if (b.init)
		run_init(s, b.argv);
	exec_command(s, b.argv);
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

/* The signals ignored when unsh started, before the Go runtime replaced the
 * dispositions with its own; Go reads it so that the command inherits them
 * (nohup). */
uint64_t unsh_ignored_signals;

static void record_ignored_signals(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			unsh_ignored_signals |= 1ull << (sig - 1);
	}
}

__attribute__((constructor)) static void unsh_stage(void)
{
	record_ignored_signals();
	const char *text = getenv(UNSH_STAGE_ENV);
	if (text == NULL)
		return; /* an ordinary unsh run, or a test binary: Go starts as usual */

	/* Installed setuid by mistake, unsh must not let a caller drive a stage
	 * with root's credentials; Go refuses the same for an ordinary run. */
	if (getauxval(AT_SECURE) || getuid() != geteuid() || getgid() != getegid()) {
		fprintf(stderr, "unsh: refusing to run as a stage with real and effective ids that differ\n");
		_exit(125);
	}

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

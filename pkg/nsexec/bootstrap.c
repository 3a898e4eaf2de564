/* The bootstrap parser: bounded, and strict about every field, because it
 * reads data that crossed a process boundary. It allocates only argv. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "stage.h"

enum kind { U32, BOOL, SIGNAL, PROPAGATION, U64, STRING };

/* What each field holds, where it goes, and whether it must be there. */
static const struct field_spec {
	enum kind kind;
	size_t offset;
	int required;
} specs[UNSH_FIELD_MAX + 1] = {
#define F(type, kind, member, required) [type] = { kind, offsetof(struct unsh_bootstrap, member), required }
	F(UNSH_FIELD_CLONE_FLAGS, U32, clone_flags, 1),
	F(UNSH_FIELD_FORK, BOOL, fork, 1),
	F(UNSH_FIELD_UID, U32, uid, 1),
	F(UNSH_FIELD_GID, U32, gid, 1),
	F(UNSH_FIELD_PPID, U32, ppid, 1),
	F(UNSH_FIELD_PROPAGATION, PROPAGATION, propagation, 0),
	F(UNSH_FIELD_HOSTNAME, STRING, hostname, 0),
	F(UNSH_FIELD_ROOT, STRING, root, 0),
	F(UNSH_FIELD_WD, STRING, wd, 0),
	F(UNSH_FIELD_MOUNT_PROC, STRING, mount_proc, 0),
	F(UNSH_FIELD_SETUID, U32, setuid, 0),
	F(UNSH_FIELD_SETGID, U32, setgid, 0),
	F(UNSH_FIELD_DROP_GROUPS, BOOL, drop_groups, 0),
	F(UNSH_FIELD_KEEP_CAPS, BOOL, keep_caps, 0),
	F(UNSH_FIELD_KILL_SIGNAL, SIGNAL, kill_signal, 0),
	F(UNSH_FIELD_MONOTONIC, U64, monotonic, 0),
	F(UNSH_FIELD_BOOTTIME, U64, boottime, 0),
	F(UNSH_FIELD_INIT, BOOL, init, 0),
#undef F
};

static uint32_t read_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static uint16_t read_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* A string field holds its text and exactly one NUL, at the end. */
static int check_string(const uint8_t *value, uint32_t len)
{
	if (len == 0 || value[len - 1] != '\0' || memchr(value, '\0', len) != value + len - 1)
		return UNSH_PARSE_BAD_STRING;
	return UNSH_PARSE_OK;
}

/* store checks one scalar or string field and puts it in out. */
static int store(const struct field_spec *spec, const uint8_t *value, uint32_t len, struct unsh_bootstrap *out)
{
	char *slot = (char *)out + spec->offset;

	switch (spec->kind) {
	case STRING: {
		int err = check_string(value, len);
		if (err)
			return err;
		*(const char **)slot = (const char *)value;
		return UNSH_PARSE_OK;
	}
	case U64:
		if (len != sizeof(uint64_t))
			return UNSH_PARSE_BAD_INTEGER;
		memcpy(slot, value, sizeof(uint64_t));
		return UNSH_PARSE_OK;
	default:
		break;
	}
	if (len != sizeof(uint32_t))
		return UNSH_PARSE_BAD_INTEGER;
	uint32_t v = read_u32(value);
	if ((spec->kind == BOOL && v > 1) || (spec->kind == SIGNAL && v > 64) ||
	    (spec->kind == PROPAGATION && v != 0 && v != MS_PRIVATE && v != MS_SHARED && v != MS_SLAVE))
		return UNSH_PARSE_BAD_INTEGER;
	memcpy(slot, &v, sizeof v);
	return UNSH_PARSE_OK;
}

/* Walks the fields; with argv NULL it only counts the arguments. */
static int walk_fields(const uint8_t *buf, size_t len, struct unsh_bootstrap *out, char **argv)
{
	uint32_t seen = 0, argc = 0;
	size_t off = UNSH_HEADER_SIZE;

	while (off < len) {
		if (len - off < UNSH_FIELD_HEADER_SIZE)
			return UNSH_PARSE_TRUNCATED_FIELD;
		uint16_t type = read_u16(buf + off);
		uint16_t zero = read_u16(buf + off + 2);
		uint32_t flen = read_u32(buf + off + 4);
		const uint8_t *value = buf + off + UNSH_FIELD_HEADER_SIZE;
		off += UNSH_FIELD_HEADER_SIZE;
		if (zero != 0 || type == 0 || type > UNSH_FIELD_MAX)
			return UNSH_PARSE_UNKNOWN_FIELD;
		if (flen > len - off)
			return UNSH_PARSE_TRUNCATED_FIELD;
		off += flen;

		if (type == UNSH_FIELD_ARG) {
			int err = check_string(value, flen);
			if (err)
				return err;
			/* argc needs no bound of its own: each argument takes 9 bytes or more
			 * of a payload of at most UNSH_MAX_PAYLOAD. */
			if (argv)
				argv[argc] = (char *)value;
			argc++;
			continue;
		}
		if (seen & (1u << type))
			return UNSH_PARSE_DUPLICATE_FIELD;
		seen |= 1u << type;
		int err = store(&specs[type], value, flen, out);
		if (err)
			return err;
	}

	for (unsigned type = 1; type <= UNSH_FIELD_MAX; type++)
		if (specs[type].required && !(seen & (1u << type)))
			return UNSH_PARSE_MISSING_FIELD;
	if (argc == 0)
		return UNSH_PARSE_MISSING_FIELD;
	out->argc = argc;
	return UNSH_PARSE_OK;
}

static void set_defaults(struct unsh_bootstrap *b)
{
	memset(b, 0, sizeof *b);
	b->setuid = UNSH_KEEP;
	b->setgid = UNSH_KEEP;
}

int unsh_parse_bootstrap(const uint8_t *buf, size_t len, struct unsh_bootstrap *out)
{
	set_defaults(out);
	if (len < UNSH_HEADER_SIZE)
		return UNSH_PARSE_SHORT_HEADER;
	if (read_u32(buf) != UNSH_MAGIC)
		return UNSH_PARSE_BAD_MAGIC;
	if (read_u32(buf + 4) != UNSH_VERSION)
		return UNSH_PARSE_BAD_VERSION;
	uint32_t payload = read_u32(buf + 8);
	if (payload > UNSH_MAX_PAYLOAD || payload != len - UNSH_HEADER_SIZE)
		return UNSH_PARSE_BAD_LENGTH;

	int err = walk_fields(buf, len, out, NULL);
	if (err)
		return err;
	char **argv = calloc((size_t)out->argc + 1, sizeof *argv);
	if (!argv)
		return UNSH_PARSE_NO_MEMORY;
	struct unsh_bootstrap again;
	set_defaults(&again);
	walk_fields(buf, len, &again, argv); /* cannot fail: the same bytes passed above */
	out->argv = argv;
	return UNSH_PARSE_OK;
}

void unsh_free_bootstrap(struct unsh_bootstrap *b)
{
	free(b->argv);
	b->argv = NULL;
}

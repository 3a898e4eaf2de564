/* The bootstrap parser: bounded, and strict about every field, because it
 * reads data that crossed a process boundary. It allocates only argv. */
#include <stdlib.h>
#include <string.h>

#include "stage.h"

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
		if (zero != 0)
			return UNSH_PARSE_UNKNOWN_FIELD;
		if (flen > len - off)
			return UNSH_PARSE_TRUNCATED_FIELD;
		off += flen;

		if (type == UNSH_FIELD_ARG) {
			int err = check_string(value, flen);
			if (err)
				return err;
			if (argc == UNSH_MAX_ARGS)
				return UNSH_PARSE_TOO_MANY_ARGS;
			if (argv)
				argv[argc] = (char *)value;
			argc++;
			continue;
		}

		uint32_t *slot;
		switch (type) {
		case UNSH_FIELD_CLONE_FLAGS: slot = &out->clone_flags; break;
		case UNSH_FIELD_FORK:        slot = &out->fork; break;
		case UNSH_FIELD_UID:         slot = &out->uid; break;
		case UNSH_FIELD_GID:         slot = &out->gid; break;
		case UNSH_FIELD_PPID:        slot = &out->ppid; break;
		default:
			return UNSH_PARSE_UNKNOWN_FIELD;
		}
		if (flen != sizeof(uint32_t))
			return UNSH_PARSE_BAD_INTEGER;
		if (seen & (1u << type))
			return UNSH_PARSE_DUPLICATE_FIELD;
		seen |= 1u << type;
		*slot = read_u32(value);
		if (type == UNSH_FIELD_FORK && *slot > 1)
			return UNSH_PARSE_BAD_INTEGER;
	}

	uint32_t required = (1u << UNSH_FIELD_CLONE_FLAGS) | (1u << UNSH_FIELD_FORK) |
			    (1u << UNSH_FIELD_UID) | (1u << UNSH_FIELD_GID) | (1u << UNSH_FIELD_PPID);
	if ((seen & required) != required || argc == 0)
		return UNSH_PARSE_MISSING_FIELD;
	out->argc = argc;
	return UNSH_PARSE_OK;
}

int unsh_parse_bootstrap(const uint8_t *buf, size_t len, struct unsh_bootstrap *out)
{
	memset(out, 0, sizeof *out);
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
	memset(&again, 0, sizeof again);
	walk_fields(buf, len, &again, argv); /* cannot fail: the same bytes passed above */
	out->argv = argv;
	return UNSH_PARSE_OK;
}

void unsh_free_bootstrap(struct unsh_bootstrap *b)
{
	free(b->argv);
	b->argv = NULL;
}

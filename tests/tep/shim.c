// SPDX-License-Identifier: GPL-2.0
/*
 * Accessors for the few members of libtraceevent's structures that the checker reads,
 * compiled against the installed <traceevent/event-parse.h>: the Rust side never
 * mirrors a structure layout, and only calls these and the library's own functions.
 * Every pointer passed in must be a live object of the library (or NULL where said).
 */
#include <stdlib.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

int efs_event_id(const struct tep_event *e) { return e->id; }
const char *efs_event_name(const struct tep_event *e) { return e->name; }
const char *efs_event_system(const struct tep_event *e) { return e->system; }
int efs_event_failed(const struct tep_event *e) { return !!(e->flags & TEP_EVENT_FL_FAILED); }
int efs_event_nr_common(const struct tep_event *e) { return e->format.nr_common; }
int efs_event_nr_fields(const struct tep_event *e) { return e->format.nr_fields; }

/* The first common (common != 0) or declared field, NULL if none. */
const struct tep_format_field *efs_event_first_field(const struct tep_event *e, int common)
{
	return common ? e->format.common_fields : e->format.fields;
}

const struct tep_format_field *efs_field_next(const struct tep_format_field *f) { return f->next; }
const char *efs_field_name(const struct tep_format_field *f) { return f->name; }
const char *efs_field_type(const struct tep_format_field *f) { return f->type; }
int efs_field_offset(const struct tep_format_field *f) { return f->offset; }
int efs_field_size(const struct tep_format_field *f) { return f->size; }
unsigned int efs_field_arraylen(const struct tep_format_field *f) { return f->arraylen; }
int efs_field_signed(const struct tep_format_field *f) { return !!(f->flags & TEP_FIELD_IS_SIGNED); }
int efs_field_array(const struct tep_format_field *f) { return !!(f->flags & TEP_FIELD_IS_ARRAY); }

/*
 * Renders one record of @event (@size bytes at @data, common fields included) as a
 * trace line's info part ("%s" of TEP_PRINT_INFO, the print fmt applied) into @out, NUL
 * terminated and cut to @outlen - 1 bytes. Returns the length of the whole text, or -1
 * if the trace_seq failed.
 */
int efs_render(struct tep_handle *tep, void *data, int size, char *out, size_t outlen)
{
	struct tep_record rec;
	struct trace_seq s;
	int len;

	memset(&rec, 0, sizeof(rec));
	rec.data = data;
	rec.size = size;
	trace_seq_init(&s);
	tep_print_event(tep, &s, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&s);
	if (s.state != TRACE_SEQ__GOOD) {
		trace_seq_destroy(&s);
		return -1;
	}
	len = (int)s.len;
	if (outlen) {
		size_t n = s.len < outlen - 1 ? s.len : outlen - 1;

		memcpy(out, s.buffer, n);
		out[n] = '\0';
	}
	trace_seq_destroy(&s);
	return len;
}
